//! The dependency rules of ARCHITECTURE.md, checked against the Cargo manifests.

use std::{collections::BTreeMap, path::Path};

/// Each workspace package and the workspace packages it depends on (normal dependencies).
fn workspace_graph() -> BTreeMap<String, Vec<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut graph = BTreeMap::new();
    for group in ["crates", "bins", "tools"] {
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

/// The codemap table of ARCHITECTURE.md: each package and the packages it may depend on.
/// `bins/*` rows apply to every binary; "any library" allows every crate under `crates/` and
/// the migration.
fn codemap(graph: &BTreeMap<String, Vec<String>>) -> BTreeMap<String, Vec<String>> {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../ARCHITECTURE.md"))
            .expect("reading ARCHITECTURE.md");
    let libraries: Vec<String> = graph
        .keys()
        .filter(|k| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../crates")
                .join(k)
                .exists()
                || *k == "horizon-migration"
        })
        .cloned()
        .collect();
    let bins: Vec<String> = graph
        .keys()
        .filter(|k| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../bins")
                .join(k)
                .exists()
        })
        .cloned()
        .collect();
    let mut table = BTreeMap::new();
    // Only the Codemap section's table: other tables (the glossary) have rows of their own.
    let section = doc
        .lines()
        .skip_while(|l| *l != "## Codemap")
        .skip(1)
        .take_while(|l| !l.starts_with("## "));
    for row in section.filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
        let [name, _, allowed] = cells[..] else {
            panic!("codemap row without three cells: {row}");
        };
        let name = name.split('`').nth(1).expect("a package name in backticks");
        let allowed: Vec<String> = match allowed {
            "—" | "nothing of ours" => Vec::new(),
            "any library" => libraries.clone(),
            list => list
                .split(',')
                .map(|w| format!("horizon-{}", w.trim()))
                .collect(),
        };
        match name {
            "bins/*" => {
                for b in &bins {
                    table.insert(b.clone(), allowed.clone());
                }
            }
            "tests/" => {}
            _ => {
                table.insert(name.to_owned(), allowed);
            }
        }
    }
    table
}

/// Every package's dependencies on our packages are the ones the codemap allows, and every
/// package has a row.
#[test]
fn manifests_follow_the_codemap() {
    let graph = workspace_graph();
    let table = codemap(&graph);
    let mut broken = Vec::new();
    for (pkg, deps) in &graph {
        let Some(allowed) = table.get(pkg) else {
            broken.push(format!(
                "{pkg} has no row in the codemap of ARCHITECTURE.md"
            ));
            continue;
        };
        for dep in deps {
            if !allowed.contains(dep) {
                broken.push(format!(
                    "{pkg} depends on {dep}, which the codemap does not allow (allowed: {allowed:?})"
                ));
            }
        }
    }
    for pkg in table.keys() {
        if !graph.contains_key(pkg) {
            broken.push(format!(
                "the codemap names {pkg}, which is not a workspace package"
            ));
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

/// The codemap reading itself: the rows everyone relies on say what they should.
#[test]
fn codemap_reads_the_table() {
    let graph = workspace_graph();
    let table = codemap(&graph);
    assert!(table["horizon-domain"].is_empty());
    assert_eq!(table["horizon-engine"], ["horizon-domain"]);
    assert!(table["horizon-api"].contains(&"horizon-http".to_owned()));
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

/// Every source path ARCHITECTURE.md names (`horizon-…/src/…`, `crates/…`, `bins/…`, `tests/…`,
/// `bench/…`) exists, so the codemap cannot point at a file that moved. `{a,b}` groups are
/// expanded; a path ending in `/` names a directory.
#[test]
fn every_path_the_codemap_names_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let doc =
        std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("reading ARCHITECTURE.md");
    let mut checked = 0;
    let mut missing = Vec::new();
    for (i, quoted) in doc.split('`').enumerate() {
        if i % 2 == 0 || quoted.contains(' ') || quoted.contains('*') || !quoted.contains('/') {
            continue;
        }
        let path = if quoted.starts_with("horizon-") {
            format!("crates/{quoted}")
        } else if [
            "crates/",
            "bins/",
            "tests/",
            "bench/",
            "migration/",
            "tools/",
        ]
        .iter()
        .any(|p| quoted.starts_with(p))
        {
            quoted.to_owned()
        } else {
            continue;
        };
        let expanded: Vec<String> = match (path.find('{'), path.find('}')) {
            (Some(a), Some(b)) if a < b => path[a + 1..b]
                .split(',')
                .map(|part| format!("{}{part}{}", &path[..a], &path[b + 1..]))
                .collect(),
            _ => vec![path],
        };
        for p in expanded {
            let p = p.trim_end_matches(['.', ',']);
            // `horizon-batch/src/covariates.rs` and the like; a package root is fine too.
            let candidates = [root.join(p), root.join(p.replacen("crates/", "", 1))];
            checked += 1;
            if !candidates.iter().any(|c| c.exists()) {
                missing.push(p.to_owned());
            }
        }
    }
    assert!(
        checked > 20,
        "only {checked} paths found: is the parser right?"
    );
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md names paths that do not exist: {missing:?}"
    );
}
