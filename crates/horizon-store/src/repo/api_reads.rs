//! Narrow reads the API needs on hot paths: the id of a series' newest forecast (the key of
//! the read-through cache) without loading its matrix.

use horizon_domain::ForecastKind;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::{Store, StoreError, entities::predictions as e};

impl Store {
    /// The id of the newest prediction of a series of `kind` (`None`: of either kind), `None`
    /// when it has none.
    pub async fn latest_prediction_id(
        &self,
        series_id: Uuid,
        kind: Option<ForecastKind>,
    ) -> Result<Option<Uuid>, StoreError> {
        let mut q = e::Entity::find()
            .select_only()
            .column(e::Column::Id)
            .filter(e::Column::SeriesId.eq(series_id));
        if let Some(kind) = kind {
            q = q.filter(e::Column::Kind.eq(kind.as_str()));
        }
        q.order_by_desc(e::Column::CreatedAt)
            .order_by_desc(e::Column::Id)
            .into_tuple::<Uuid>()
            .one(&self.db)
            .await
            .map_err(|e| StoreError::db("reading the latest prediction id", e))
    }
}
