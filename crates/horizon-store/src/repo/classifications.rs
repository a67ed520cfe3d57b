//! Series classifications, kept as history.

use horizon_domain::{Classification, SeriesProfile};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

use crate::{
    Store, StoreError,
    codec::{micros, parse},
    entities::series_classifications as e,
};

impl Store {
    /// Stores classifications in bulk.
    pub async fn insert_classifications(&self, items: &[Classification]) -> Result<(), StoreError> {
        for chunk in items.chunks(1_000) {
            let rows = chunk.iter().map(|c| e::ActiveModel {
                id: Set(Uuid::now_v7()),
                series_id: Set(c.series_id),
                execution_id: Set(c.execution_id),
                classified_at: Set(micros(c.classified_at)),
                class: Set(c.profile.class.to_string()),
                adi: Set(finite(c.profile.adi)),
                cv2: Set(finite(c.profile.cv2)),
                zero_share: Set(finite(c.profile.zero_share)),
                length: Set(c.profile.length as i64),
                trend_strength: Set(finite(c.profile.trend_strength)),
                seasonal_strength: Set(finite(c.profile.seasonal_strength)),
                season_length: Set(c.profile.season_length.map(|m| m as i32)),
            });
            e::Entity::insert_many(rows)
                .exec_without_returning(&self.db)
                .await
                .map_err(|e| StoreError::db("writing classifications", e))?;
        }
        Ok(())
    }

    /// The newest classification of a series, if it was ever classified.
    pub async fn latest_classification(
        &self,
        series_id: Uuid,
    ) -> Result<Option<Classification>, StoreError> {
        let row = e::Entity::find()
            .filter(e::Column::SeriesId.eq(series_id))
            .order_by_desc(e::Column::ClassifiedAt)
            .order_by_desc(e::Column::Id)
            .one(&self.db)
            .await
            .map_err(|e| StoreError::db("reading a classification", e))?;
        row.map(|r| {
            Ok(Classification {
                series_id: r.series_id,
                execution_id: r.execution_id,
                classified_at: r.classified_at,
                profile: SeriesProfile {
                    class: parse(&r.class)?,
                    adi: r.adi,
                    cv2: r.cv2,
                    zero_share: r.zero_share,
                    length: r.length.max(0) as usize,
                    trend_strength: r.trend_strength,
                    seasonal_strength: r.seasonal_strength,
                    season_length: r.season_length.map(|m| m.max(0) as usize),
                },
            })
        })
        .transpose()
    }
}

/// Databases differ on NaN and infinity (PostgreSQL stores them, JSON and some drivers do not):
/// features that are undefined are stored as 0.
fn finite(x: f64) -> f64 {
    if x.is_finite() { x } else { 0.0 }
}
