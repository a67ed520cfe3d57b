//! `horizon keys`: create, list and revoke API keys. The token is printed once, as the last
//! line of `create`'s output, and never stored.

use anyhow::Context;
use clap::Subcommand;
use horizon_domain::{ApiKeyRecord, ApiScopes};
use horizon_store::{NewApiKey, Store};

/// What to do with keys.
#[derive(Subcommand)]
pub enum KeysCommand {
    /// Create a key and print its token (shown once, on the last line).
    Create {
        /// Human name, e.g. who or what uses it.
        #[arg(long)]
        name: String,
        /// Comma-separated scopes: read, write, admin (admin includes write includes read).
        #[arg(long, default_value = "read")]
        scopes: String,
        /// Expire the key after this many days.
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// List keys (never their secrets).
    List,
    /// Revoke a key by its id (the UUID `list` shows).
    Revoke {
        /// The key's id.
        id: uuid::Uuid,
    },
}

/// Creates a key in `store`; returns its record and the token to show once.
pub async fn create(
    store: &Store,
    name: &str,
    scopes: ApiScopes,
    expires_in_days: Option<u32>,
) -> anyhow::Result<(ApiKeyRecord, String)> {
    let key = horizon_http::generate_key();
    let record = store
        .create_api_key(NewApiKey {
            name: name.to_owned(),
            prefix: key.key_id,
            secret_hash: key.secret_hash,
            scopes,
            expires_at: expires_in_days
                .map(|d| chrono::Utc::now() + chrono::Duration::days(i64::from(d))),
        })
        .await
        .context("while storing the key")?;
    Ok((record, key.token))
}

pub async fn run(store: &Store, command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Create {
            name,
            scopes,
            expires_in_days,
        } => {
            let name = name.trim();
            anyhow::ensure!(!name.is_empty(), "--name must not be empty");
            let scopes: ApiScopes = scopes.parse().context("while reading --scopes")?;
            let (record, token) = create(store, name, scopes, expires_in_days).await?;
            println!(
                "created key {} ({}) with scopes {}{}",
                record.id,
                record.name,
                record.scopes,
                record
                    .expires_at
                    .map(|t| format!(", expires {t}"))
                    .unwrap_or_default()
            );
            println!("store the key now: it is shown only once");
            println!("{token}");
        }
        KeysCommand::List => {
            println!("id\tkey_id\tname\tscopes\tcreated\tlast_used\tstate");
            for k in store.list_api_keys().await.context("while listing keys")? {
                let state = if k.revoked_at.is_some() {
                    "revoked"
                } else if k.expires_at.is_some_and(|t| t <= chrono::Utc::now()) {
                    "expired"
                } else {
                    "active"
                };
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{state}",
                    k.id,
                    k.prefix,
                    k.name,
                    k.scopes,
                    k.created_at,
                    k.last_used_at.map(|t| t.to_string()).unwrap_or("-".into())
                );
            }
        }
        KeysCommand::Revoke { id } => {
            store.revoke_api_key(id).await.context("while revoking")?;
            println!("revoked key {id}; the API refuses it within a few seconds");
        }
    }
    Ok(())
}
