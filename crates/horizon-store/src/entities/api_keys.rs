//! The `api_keys` table.

use sea_orm::entity::prelude::*;

/// A row of `api_keys`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    /// Column `id`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Column `name`.
    pub name: String,
    /// Column `prefix`.
    pub prefix: String,
    /// Column `secret_hash`.
    pub secret_hash: String,
    /// Column `scopes`.
    pub scopes: String,
    /// Column `created_at`.
    pub created_at: DateTimeUtc,
    /// Column `last_used_at`.
    pub last_used_at: Option<DateTimeUtc>,
    /// Column `revoked_at`.
    pub revoked_at: Option<DateTimeUtc>,
    /// Column `expires_at`.
    pub expires_at: Option<DateTimeUtc>,
}

/// No relations are declared: queries join explicitly where needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
