//! Every binary answers `--help`, `-h` and `--version` and does nothing else: no database file,
//! no migration, no listening socket.

use horizon_e2e::bin_dir;

#[test]
fn help_and_version_have_no_side_effects() {
    let dir = tempfile::tempdir().unwrap();
    for bin in [
        "horizon",
        "horizon-api",
        "horizon-ingest",
        "horizon-pipeline",
    ] {
        for flag in ["--help", "-h", "--version", "-V"] {
            let out = std::process::Command::new(bin_dir().join(bin))
                .arg(flag)
                .current_dir(dir.path())
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "{bin} {flag}: {out:?}");
            if flag.contains('V') || flag == "--version" {
                assert!(text.starts_with(&format!("{bin} ")), "{bin} {flag}: {text}");
            } else {
                assert!(text.contains("Usage:"), "{bin} {flag}: {text}");
            }
            let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
            assert!(left.is_empty(), "{bin} {flag} created {left:?}");
        }
    }
}
