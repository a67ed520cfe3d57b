//! API keys end to end: `horizon keys` creates, lists and revokes; the real `horizon-api`
//! accepts, refuses within seconds of revocation, and the secret is nowhere in the database or
//! the logs afterwards.

use std::time::Duration;

use horizon_e2e::{Env, TestDb, free_port, wait_healthy};
use horizon_test_support::both_backends;

async fn dump_api_keys(db: &TestDb) -> String {
    use sea_orm::{ConnectionTrait, Database, Statement};
    let conn = Database::connect(&db.url).await.expect("connecting");
    let backend = conn.get_database_backend();
    let rows = conn
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT id, name, prefix, secret_hash, scopes FROM api_keys",
        ))
        .await
        .expect("reading api_keys");
    let mut out = String::new();
    for r in rows {
        for col in ["name", "prefix", "secret_hash", "scopes"] {
            out.push_str(&r.try_get::<String>("", col).expect("a text column"));
            out.push('\t');
        }
        out.push('\n');
    }
    let _ = conn.close().await;
    out
}

async fn keys_lifecycle(db: TestDb) {
    let mut env = Env::for_db(&db);
    let port = free_port();
    env.set("HORIZON_API_BIND", &format!("127.0.0.1:{port}"));
    env.set("HORIZON_API_KEY_CACHE_SECS", "1");
    env.set("HORIZON_LOG_LEVEL", "debug");
    let base = format!("http://127.0.0.1:{port}");
    let token = env.create_key("read,write");
    assert!(token.starts_with("hzn_"), "{token}");
    let secret = token.split('_').nth(2).expect("a secret part").to_owned();

    let mut api = env.spawn("horizon-api", &[]);
    assert!(
        wait_healthy(&format!("{base}/healthz"), Duration::from_secs(60)).await,
        "api did not become healthy: {}",
        api.log_text()
    );
    let client = reqwest::Client::new();
    let get = |k: &str| {
        client
            .get(format!("{base}/v1/series"))
            .header("X-API-Key", k.to_owned())
            .send()
    };
    assert_eq!(get(&token).await.unwrap().status().as_u16(), 200);
    let resp = client
        .get(format!("{base}/v1/series"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        client
            .get(format!("{base}/v1/series"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        401
    );
    let body = get(&token).await.unwrap().text().await.unwrap();
    assert!(!body.contains(&secret));

    let (ok, listed, _) = env.output("horizon", &["keys", "list"]);
    assert!(
        ok && listed.contains("e2e") && !listed.contains(&secret),
        "{listed}"
    );
    let id = listed
        .lines()
        .nth(1)
        .and_then(|l| l.split('\t').next())
        .expect("a key row")
        .to_owned();
    let (ok, out, err) = env.output("horizon", &["keys", "revoke", &id]);
    assert!(ok, "{out}{err}");
    let mut refused = false;
    for _ in 0..50 {
        if get(&token).await.unwrap().status().as_u16() == 401 {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(refused, "the revoked key was still accepted after 5 s");

    assert!(api.terminate(), "api did not stop cleanly");
    let log = api.log_text();
    assert!(
        log.contains("/v1/series"),
        "the access log is captured: {log}"
    );
    assert!(!log.contains(&secret), "the secret leaked into the logs");
    let dump = dump_api_keys(&db).await;
    assert!(dump.contains("e2e"), "{dump}");
    assert!(!dump.contains(&secret), "the secret is in the database");
}

both_backends!(keys_lifecycle);
