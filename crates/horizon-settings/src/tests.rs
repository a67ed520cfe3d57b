// figment::Jail closures return figment::Error, which is large; that is figment's API.
#![allow(clippy::result_large_err)]

use figment::{Jail, providers::Env};

use super::*;

fn load_in(jail_env: &[(&str, &str)]) -> Result<Settings, SettingsError> {
    let mut result = None;
    Jail::expect_with(|jail| {
        for (k, v) in jail_env {
            jail.set_env(k, v);
        }
        result = Some(Settings::load());
        Ok(())
    });
    result.expect("jail ran")
}

#[test]
fn defaults_need_no_server() {
    let s = load_in(&[]).unwrap();
    assert_eq!(s.database_kind(), Some(DatabaseKind::Sqlite));
    assert!(s.database_url.contains("horizon.db"));
    assert_eq!(s.event_store_path, PathBuf::from("data/events.db"));
    assert!(s.redis_url.is_none());
    assert_eq!(s.api_bind.to_string(), "127.0.0.1:8080");
}

#[test]
fn environment_overrides_file_which_overrides_defaults() {
    let mut got = None;
    Jail::expect_with(|jail| {
        jail.create_file(
            "horizon.toml",
            "api_bind = \"127.0.0.1:9000\"\ndb_max_connections = 3\n",
        )?;
        jail.set_env("HORIZON_DB_MAX_CONNECTIONS", "7");
        jail.set_env("DATABASE_URL", "postgres://postgres@127.0.0.1/horizon");
        got = Some(Settings::load());
        Ok(())
    });
    let s = got.unwrap().unwrap();
    assert_eq!(s.api_bind.port(), 9000);
    assert_eq!(s.db_max_connections, 7);
    assert_eq!(s.database_kind(), Some(DatabaseKind::Postgres));
}

#[test]
fn bad_values_name_the_key() {
    let err = load_in(&[("HORIZON_DB_MAX_CONNECTIONS", "many")])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("DB_MAX_CONNECTIONS") && err.contains("many"),
        "{err}"
    );
    let err = load_in(&[("DATABASE_URL", "mysql://x")])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("DATABASE_URL") && err.contains("mysql://x"),
        "{err}"
    );
    let err = load_in(&[("HORIZON_API_BIND", "localhost")])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("API_BIND") && err.contains("HORIZON_") && err.contains("socket address"),
        "{err}"
    );
    let err = load_in(&[("HORIZON_LOG_FORMAT", "xml")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("LOG_FORMAT") && err.contains("xml"), "{err}");
    let err = load_in(&[("HORIZON_CONFIG", "missing.toml")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing.toml"), "{err}");
}

#[test]
fn unknown_file_keys_are_rejected() {
    let mut got = None;
    Jail::expect_with(|jail| {
        jail.create_file("horizon.toml", "api_bnd = \"127.0.0.1:9000\"\n")?;
        got = Some(Settings::load());
        Ok(())
    });
    let err = got.unwrap().unwrap_err().to_string();
    assert!(err.contains("api_bnd"), "{err}");
}

#[test]
fn passwords_are_redacted() {
    assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
    let _ = Env::prefixed("HORIZON_");
}

#[test]
fn ingest_sources_come_from_the_file_or_the_environment() {
    let mut got = None;
    Jail::expect_with(|jail| {
        jail.create_file(
            "horizon.toml",
            "[[ingest_sources]]\nname = \"gdelt\"\ndir = \"inbox\"\nglob = \"*.zip\"\nformat = \"gdelt2\"\n",
        )?;
        got = Some(Settings::load());
        Ok(())
    });
    let s = got.unwrap().unwrap();
    assert_eq!(s.ingest_sources.len(), 1);
    assert_eq!(s.ingest_sources[0].format, IngestFormat::Gdelt2);
    assert_eq!(s.ingest_sources[0].dir, Some(PathBuf::from("inbox")));

    let s = load_in(&[(
        "HORIZON_INGEST_SOURCES",
        "[{name=\"feed\",url=\"http://127.0.0.1:9/x.csv\",format=\"csv\",interval_secs=5}]",
    )])
    .unwrap();
    assert_eq!(s.ingest_sources[0].interval_secs, 5);
    assert_eq!(s.ingest_sources[0].glob, "*");

    let err = load_in(&[(
        "HORIZON_INGEST_SOURCES",
        "[{name=\"both\",url=\"http://x/\",dir=\"d\",format=\"csv\"}]",
    )])
    .unwrap_err()
    .to_string();
    assert!(err.contains("exactly one of dir and url"), "{err}");
    let err = load_in(&[(
        "HORIZON_INGEST_SOURCES",
        "[{name=\"f\",url=\"ftp://x/\",format=\"csv\"}]",
    )])
    .unwrap_err()
    .to_string();
    assert!(err.contains("http://"), "{err}");
}
