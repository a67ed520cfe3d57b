//! Thresholds as a typed field of a series: `series.thresholds`, a JSON list of
//! `{"value": 16.0, "direction": "above" | "below"}`, where earlier releases kept a `;`-separated
//! string in the tag `thresholds` (`"16;18"`, every item crossed above).
//!
//! Expand only: a nullable column, and the tag of every existing series copied into it once
//! (items that are not numbers were ignored by the releases that wrote them, and are here too).
//! The tag itself is left in place, so a binary of the previous release still reads it during
//! a rolling deploy; this release reads the column and falls back to the tag only where the
//! column is empty (a series written by a previous-release binary after this migration).

use sea_orm_migration::{
    prelude::*,
    schema::*,
    sea_orm::{ConnectionTrait, JsonValue, Statement},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Series {
    Table,
    Id,
    Thresholds,
}

/// The typed list of the old tag's text: numbers separated by `;`, each crossed above.
fn typed(tag: &str) -> JsonValue {
    JsonValue::Array(
        tag.split(';')
            .filter_map(|item| item.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite())
            .map(|v| serde_json::json!({"value": v, "direction": "above"}))
            .collect(),
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Series::Table)
                .add_column(json_binary_null(Series::Thresholds))
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        let backend = db.get_database_backend();
        // The text cast reads jsonb (PostgreSQL) and JSON text (SQLite) alike; the tags
        // themselves are parsed below, so a key merely containing the word is harmless.
        let rows = db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT id, tags FROM series WHERE CAST(tags AS TEXT) LIKE '%thresholds%'",
            ))
            .await?;
        for row in rows {
            let id: uuid::Uuid = row.try_get("", "id")?;
            let tags: JsonValue = row.try_get("", "tags")?;
            let Some(tag) = tags.get("thresholds").and_then(JsonValue::as_str) else {
                continue;
            };
            let update = Query::update()
                .table(Series::Table)
                .value(Series::Thresholds, typed(tag))
                .and_where(Expr::col(Series::Id).eq(id))
                .to_owned();
            m.exec_stmt(update).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Series::Table)
                .drop_column(Series::Thresholds)
                .to_owned(),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_old_tag_becomes_a_list_crossed_above() {
        assert_eq!(
            typed(" 16;18.5;;abc;NaN"),
            serde_json::json!([
                {"value": 16.0, "direction": "above"},
                {"value": 18.5, "direction": "above"}
            ])
        );
        assert_eq!(typed(""), serde_json::json!([]));
    }
}
