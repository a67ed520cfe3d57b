//! API keys: stored as a public prefix and a hash of the secret, never the secret.

use horizon_domain::{ApiKeyRecord, ApiScopes, Timestamp};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

use crate::{
    Store, StoreError,
    codec::{micros, now, parse},
    entities::api_keys as e,
};

/// A key to store; the caller derives `prefix` and `secret_hash` from the secret.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    /// Human name.
    pub name: String,
    /// Public key id.
    pub prefix: String,
    /// Hash of the secret.
    pub secret_hash: String,
    /// Scopes.
    pub scopes: ApiScopes,
    /// Expiry, if any.
    pub expires_at: Option<Timestamp>,
}

fn to_domain(r: e::Model) -> Result<ApiKeyRecord, StoreError> {
    Ok(ApiKeyRecord {
        id: r.id,
        name: r.name,
        prefix: r.prefix,
        secret_hash: r.secret_hash,
        scopes: parse(&r.scopes)?,
        created_at: r.created_at,
        last_used_at: r.last_used_at,
        revoked_at: r.revoked_at,
        expires_at: r.expires_at,
    })
}

impl Store {
    /// Stores a new key.
    pub async fn create_api_key(&self, key: NewApiKey) -> Result<ApiKeyRecord, StoreError> {
        let row = e::ActiveModel {
            id: Set(Uuid::now_v7()),
            name: Set(key.name),
            prefix: Set(key.prefix),
            secret_hash: Set(key.secret_hash),
            scopes: Set(key.scopes.to_string()),
            created_at: Set(now()),
            last_used_at: Set(None),
            revoked_at: Set(None),
            expires_at: Set(key.expires_at.map(micros)),
        }
        .insert(&self.db)
        .await
        .map_err(|e| StoreError::db("creating an api key", e))?;
        to_domain(row)
    }

    /// The key with public id `prefix`, revoked or not.
    pub async fn api_key_by_prefix(
        &self,
        prefix: &str,
    ) -> Result<Option<ApiKeyRecord>, StoreError> {
        e::Entity::find()
            .filter(e::Column::Prefix.eq(prefix))
            .one(&self.db)
            .await
            .map_err(|e| StoreError::db("reading an api key", e))?
            .map(to_domain)
            .transpose()
    }

    /// Every key, newest first.
    pub async fn list_api_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        e::Entity::find()
            .order_by_desc(e::Column::Id)
            .all(&self.db)
            .await
            .map_err(|e| StoreError::db("listing api keys", e))?
            .into_iter()
            .map(to_domain)
            .collect()
    }

    /// Revokes a key now.
    pub async fn revoke_api_key(&self, id: Uuid) -> Result<(), StoreError> {
        let row = e::ActiveModel {
            id: Set(id),
            revoked_at: Set(Some(now())),
            ..Default::default()
        };
        e::Entity::update(row)
            .exec(&self.db)
            .await
            .map(|_| ())
            .map_err(StoreError::update("api key", id, "revoking an api key"))
    }

    /// Records use of a key (callers throttle this; it is not written per request).
    pub async fn touch_api_key(&self, id: Uuid, at: Timestamp) -> Result<(), StoreError> {
        let row = e::ActiveModel {
            id: Set(id),
            last_used_at: Set(Some(micros(at))),
            ..Default::default()
        };
        e::Entity::update(row)
            .exec(&self.db)
            .await
            .map(|_| ())
            .map_err(|e| StoreError::db("recording api key use", e))
    }
}
