//! The dependency rules of ARCHITECTURE.md, checked against the Cargo manifests.

use std::{collections::BTreeMap, path::Path};

/// Each workspace package and the workspace packages it depends on (normal dependencies).
fn workspace_graph() -> BTreeMap<String, Vec<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut graph = BTreeMap::new();
    for group in ["crates", "bins"] {
        for entry in std::fs::read_dir(root.join(group)).expect("reading the workspace") {
            let dir = entry.expect("a directory entry").path();
            let manifest = dir.join("Cargo.toml");
            let Ok(text) = std::fs::read_to_string(&manifest) else {
                continue;
            };
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            graph.insert(name, ours(&text));
        }
    }
    let migration = std::fs::read_to_string(root.join("migration/Cargo.toml")).unwrap();
    graph.insert("horizon-migration".into(), ours(&migration));
    graph
}

/// The `horizon-*` packages named in the `[dependencies]` table of a manifest.
fn ours(manifest: &str) -> Vec<String> {
    let mut deps = Vec::new();
    let mut in_deps = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_deps = line == "[dependencies]";
            continue;
        }
        if in_deps && line.starts_with("horizon-") {
            let name = line
                .split(|c: char| c == '.' || c == '=' || c.is_whitespace())
                .next()
                .unwrap_or_default();
            deps.push(name.to_owned());
        }
    }
    deps
}

fn deps_of<'a>(graph: &'a BTreeMap<String, Vec<String>>, name: &str) -> &'a [String] {
    graph
        .get(name)
        .unwrap_or_else(|| panic!("package {name} not found"))
}

#[test]
fn domain_depends_on_nothing_of_ours() {
    let g = workspace_graph();
    assert!(deps_of(&g, "horizon-domain").is_empty());
}

#[test]
fn engine_depends_only_on_domain_and_does_no_io() {
    let g = workspace_graph();
    assert_eq!(deps_of(&g, "horizon-engine"), ["horizon-domain"]);
    let manifest = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/horizon-engine/Cargo.toml"),
    )
    .unwrap();
    for forbidden in [
        "tokio", "sea-orm", "sqlx", "rusqlite", "reqwest", "actix", "redis",
    ] {
        let in_deps = manifest
            .split("[dev-dependencies]")
            .next()
            .unwrap_or_default()
            .lines()
            .any(|l| l.trim_start().starts_with(forbidden));
        assert!(!in_deps, "horizon-engine must not depend on {forbidden}");
    }
}

#[test]
fn dto_and_store_point_inward() {
    let g = workspace_graph();
    for dep in deps_of(&g, "horizon-dto") {
        assert_eq!(
            dep, "horizon-domain",
            "horizon-dto may depend only on the domain"
        );
    }
    for dep in deps_of(&g, "horizon-store") {
        assert!(
            ["horizon-domain", "horizon-migration", "horizon-settings"].contains(&dep.as_str()),
            "horizon-store must not depend on {dep}"
        );
    }
}

#[test]
fn nothing_depends_on_a_binary() {
    let g = workspace_graph();
    let bins = [
        "horizon",
        "horizon-api",
        "horizon-ingest",
        "horizon-pipeline",
    ];
    for (pkg, deps) in &g {
        for dep in deps {
            assert!(
                !bins.contains(&dep.as_str()),
                "{pkg} depends on binary {dep}"
            );
        }
    }
}

#[test]
fn libraries_do_not_use_anyhow() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates");
    for entry in std::fs::read_dir(root).unwrap() {
        let manifest = entry.unwrap().path().join("Cargo.toml");
        if let Ok(text) = std::fs::read_to_string(&manifest) {
            let deps = text.split("[dev-dependencies]").next().unwrap_or_default();
            assert!(
                !deps.lines().any(|l| l.trim_start().starts_with("anyhow")),
                "{} uses anyhow; libraries have typed errors",
                manifest.display()
            );
        }
    }
}
