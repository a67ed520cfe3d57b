//! Repository round trips for every table, written once and run on SQLite and PostgreSQL.

use std::collections::BTreeMap;

use chrono::{Duration, TimeZone, Utc};
use horizon_domain::*;
use horizon_test_support::{TestDb, both_backends};
use uuid::Uuid;

use crate::{
    NewApiKey, NewPrediction, NewStep, ObservationRow, PoolOptions, PredictionFilter, SeriesFilter,
    Store, StoreError, event_store::EventStore,
};

async fn store(db: &TestDb) -> Store {
    let store = Store::connect_with(&db.url, &PoolOptions::default())
        .await
        .expect("connecting to the test database");
    store.check_schema().await.expect("schema is current");
    store
}

fn t0() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

fn meta(key: &str) -> SeriesMeta {
    let mut tags = BTreeMap::new();
    tags.insert("region".to_owned(), "north".to_owned());
    SeriesMeta {
        key: SeriesKey::parse(key).unwrap(),
        entity: "PLANT01".into(),
        metric: "power_mw".into(),
        frequency: Some(Frequency::Minutes(15)),
        unit: Some("MW".into()),
        bounds: Bounds::new(Some(0.0), Some(50.0)).unwrap(),
        tags,
        attributes: Default::default(),
        thresholds: vec![Threshold::above(45.0), Threshold::below(0.5)],
    }
}

async fn series_round_trip(db: TestDb) {
    let store = store(&db).await;
    let created = store.upsert_series(&meta("solar-01")).await.unwrap();
    assert_eq!(created.meta, meta("solar-01"));
    let mut changed = meta("solar-01");
    changed.bounds = Bounds::new(Some(0.0), Some(60.0)).unwrap();
    let updated = store.upsert_series(&changed).await.unwrap();
    assert_eq!(updated.id, created.id, "upsert keeps the id");
    assert_eq!(updated.meta.bounds.upper(), Some(60.0));
    assert_eq!(store.series_by_id(created.id).await.unwrap().meta, changed);

    let ids = store
        .ensure_series(&[
            SeriesMeta::first_sight(SeriesKey::parse("a-1").unwrap()),
            SeriesMeta::first_sight(SeriesKey::parse("solar-01").unwrap()),
        ])
        .await
        .unwrap();
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[&SeriesKey::parse("solar-01").unwrap()], created.id);
    // ensure_series leaves known metadata alone
    assert_eq!(
        store
            .series_by_id(created.id)
            .await
            .unwrap()
            .meta
            .bounds
            .upper(),
        Some(60.0)
    );

    let page = store
        .list_series(&SeriesFilter::default(), None, 1)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].meta.key.as_str(), "a-1");
    let next = store
        .list_series(&SeriesFilter::default(), page.next_after.as_deref(), 1)
        .await
        .unwrap();
    assert_eq!(next.items[0].meta.key.as_str(), "solar-01");
    assert!(next.next_after.is_none());
    let filter = |f: SeriesFilter| {
        let store = store.clone();
        async move {
            let page = store.list_series(&f, None, 10).await.unwrap();
            page.items
                .iter()
                .map(|s| s.meta.key.to_string())
                .collect::<Vec<_>>()
        }
    };
    let by_entity = filter(SeriesFilter {
        entity: Some("PLANT01".into()),
        ..Default::default()
    });
    assert_eq!(by_entity.await, ["solar-01"]);
    // search: a substring of key or entity, any case, wildcards taken literally
    let search = |text: &str| {
        filter(SeriesFilter {
            search: Some(text.into()),
            ..Default::default()
        })
    };
    assert_eq!(search("LAR-0").await, ["solar-01"]);
    assert_eq!(search("plant").await, ["solar-01"]);
    assert_eq!(search("A-").await, ["a-1"]);
    assert!(search("a_1").await.is_empty(), "_ is not a wildcard");
    assert!(search("%").await.is_empty(), "% is not a wildcard");
    let by_metric = filter(SeriesFilter {
        metric: Some("nothing-measured-so".into()),
        ..Default::default()
    });
    assert!(by_metric.await.is_empty());
    // class: the latest classification decides
    let solar = store
        .series_by_key(&SeriesKey::parse("solar-01").unwrap())
        .await
        .unwrap();
    let classified = |class: SeriesClass, at: i64| Classification {
        series_id: solar.id,
        execution_id: None,
        classified_at: Utc.timestamp_opt(at, 0).unwrap(),
        profile: SeriesProfile {
            class,
            adi: 1.0,
            cv2: 0.1,
            zero_share: 0.0,
            length: 100,
            trend_strength: 0.0,
            seasonal_strength: 0.0,
            season_length: None,
        },
    };
    store
        .insert_classifications(&[
            classified(SeriesClass::Lumpy, 1_000),
            classified(SeriesClass::Smooth, 2_000),
        ])
        .await
        .unwrap();
    let by_class = |class: SeriesClass| {
        filter(SeriesFilter {
            class: Some(class),
            ..Default::default()
        })
    };
    assert_eq!(by_class(SeriesClass::Smooth).await, ["solar-01"]);
    assert!(by_class(SeriesClass::Lumpy).await.is_empty());

    let missing = store
        .series_by_key(&SeriesKey::parse("nope").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(missing, StoreError::NotFound { .. }), "{missing}");
}

async fn observations_round_trip(db: TestDb) {
    let store = store(&db).await;
    let s = store.upsert_series(&meta("solar-01")).await.unwrap();
    let rows: Vec<ObservationRow> = (0..7000)
        .map(|i| ObservationRow {
            series_id: s.id,
            ts: t0() + Duration::minutes(15 * i),
            value: i as f64,
        })
        .collect();
    assert_eq!(store.upsert_observations(&rows).await.unwrap(), 7000);
    // replaying changes nothing, a correction replaces the value
    store.upsert_observations(&rows[..10]).await.unwrap();
    store
        .upsert_observations(&[ObservationRow {
            value: -1.0,
            ..rows[3]
        }])
        .await
        .unwrap();
    assert_eq!(store.count_observations(Some(s.id)).await.unwrap(), 7000);
    let window = store
        .observations(s.id, Some(rows[2].ts), Some(rows[5].ts))
        .await
        .unwrap();
    assert_eq!(
        window.iter().map(|o| o.value).collect::<Vec<_>>(),
        vec![2.0, -1.0, 4.0]
    );
    assert_eq!(window[0].ts, rows[2].ts);
    let histories = store
        .load_histories(&[s.id, Uuid::now_v7()], Some(rows[100].ts))
        .await
        .unwrap();
    assert_eq!(histories[&s.id].len(), 100);
    assert!(histories[&s.id].windows(2).all(|w| w[0].ts < w[1].ts));
    // A half-open window, and everything from an instant on.
    let between = store
        .load_histories_between(&[s.id], Some(rows[10].ts), Some(rows[20].ts))
        .await
        .unwrap();
    assert_eq!(
        between[&s.id].iter().map(|o| o.value).collect::<Vec<_>>(),
        (10..20).map(f64::from).collect::<Vec<_>>()
    );
    let tail = store
        .load_histories_between(&[s.id], Some(rows[6990].ts), None)
        .await
        .unwrap();
    assert_eq!(tail[&s.id].len(), 10);

    // Recent histories count back from each series' own latest observation before `until`:
    // 150 minutes back from rows[99] are rows[90..100]; no span keeps all 100.
    let other = store.upsert_series(&meta("solar-02")).await.unwrap();
    let other_rows: Vec<ObservationRow> = (0..50)
        .map(|i| ObservationRow {
            series_id: other.id,
            ts: t0() + Duration::minutes(15 * i),
            value: 1000.0 + i as f64,
        })
        .collect();
    store.upsert_observations(&other_rows).await.unwrap();
    let recent = store
        .load_recent_histories(
            &[
                (s.id, Some(Duration::minutes(150))),
                (other.id, None),
                (Uuid::now_v7(), Some(Duration::minutes(150))),
            ],
            Some(rows[100].ts),
        )
        .await
        .unwrap();
    assert_eq!(
        recent[&s.id].iter().map(|o| o.value).collect::<Vec<_>>(),
        (90..100).map(f64::from).collect::<Vec<_>>()
    );
    assert_eq!(recent[&s.id][0].ts, rows[90].ts);
    assert_eq!(recent[&other.id].len(), 50);
    assert_eq!(recent[&other.id][49].value, 1049.0);
    assert_eq!(
        recent.len(),
        2,
        "a series without observations has no entry"
    );
}

fn new_prediction(series: &Series, execution_id: Option<Uuid>, level: f64) -> NewPrediction {
    let q = QuantileLevels::new(vec![0.1, 0.5, 0.9]).unwrap();
    NewPrediction {
        series_id: series.id,
        execution_id,
        kind: ForecastKind::Scheduled,
        entity: series.meta.entity.clone(),
        issued_at: t0(),
        first_target_at: t0() + Duration::minutes(15),
        frequency: Frequency::Minutes(15),
        quantile_levels: q,
        matrix: ForecastMatrix::from_paths(
            &[level, level + 1.0],
            &[
                vec![level - 1.0, level],
                vec![level, level + 1.0],
                vec![level + 1.0, level + 2.0],
            ],
        )
        .unwrap(),
        members: vec![EnsembleMember {
            model: "ets".into(),
            weight: 1.0,
            reason: "only candidate".into(),
        }],
        calibration: serde_json::json!({"weights": "uniform"}),
        thresholds: vec![ThresholdProbability {
            threshold: 40.0,
            direction: horizon_domain::ThresholdDirection::Below,
            per_step: vec![0.1, 0.2],
            any_step: 0.25,
        }],
        warnings: vec![horizon_domain::ForecastWarning::new(
            horizon_domain::WarningKind::GapsFilled,
            "2 missing values imputed",
        )],
        member_forecasts: vec![
            ForecastMatrix::from_paths(
                &[level, level],
                &[vec![level - 2.0; 2], vec![level; 2], vec![level + 2.0; 2]],
            )
            .unwrap(),
        ],
        covariates: vec![],
    }
}

async fn predictions_round_trip(db: TestDb) {
    let store = store(&db).await;
    let s = store.upsert_series(&meta("solar-01")).await.unwrap();
    let run1 = store
        .create_execution(
            ExecutionKind::Pipeline,
            serde_json::json!({}),
            None,
            None,
            None,
        )
        .await
        .unwrap();
    let run2 = store
        .create_execution(
            ExecutionKind::Pipeline,
            serde_json::json!({}),
            None,
            None,
            None,
        )
        .await
        .unwrap();
    let p1 = new_prediction(&s, Some(run1.id), 10.0);
    assert_eq!(
        store
            .insert_predictions(std::slice::from_ref(&p1))
            .await
            .unwrap(),
        1
    );
    // the same series and run again: ignored
    assert_eq!(
        store
            .insert_predictions(std::slice::from_ref(&p1))
            .await
            .unwrap(),
        0
    );
    assert_eq!(store.count_predictions(Some(run1.id)).await.unwrap(), 1);
    store
        .insert_predictions(&[new_prediction(&s, Some(run2.id), 20.0)])
        .await
        .unwrap();

    let latest = store.latest_prediction(s.id).await.unwrap();
    assert_eq!(latest.execution_id, Some(run2.id));
    assert_eq!(latest.matrix.mean(0), 20.0);
    assert_eq!(latest.quantile_levels.levels(), &[0.1, 0.5, 0.9]);
    assert_eq!(latest.members[0].model, "ets");
    assert_eq!(latest.member_forecasts.len(), 1);
    assert_eq!(latest.member_forecasts[0].quantile(1, 2), 22.0);
    assert_eq!(latest.steps_scored, 0);
    assert_eq!(latest.thresholds[0].any_step, 0.25);
    assert_eq!(latest.target_at(2), t0() + Duration::minutes(30));
    let again = store.prediction(latest.id).await.unwrap();
    assert_eq!(again, latest);

    let by_entity = store
        .list_predictions(
            &PredictionFilter {
                entity: Some("PLANT01".into()),
                ..Default::default()
            },
            10,
        )
        .await
        .unwrap();
    assert_eq!(by_entity.len(), 2);
    assert_eq!(by_entity[0].id, latest.id, "newest first");
    let older = store
        .list_predictions(
            &PredictionFilter {
                before_id: Some(latest.id),
                ..Default::default()
            },
            10,
        )
        .await
        .unwrap();
    assert_eq!(older.len(), 1);
    assert!(matches!(
        store.prediction(Uuid::now_v7()).await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn executions_round_trip(db: TestDb) {
    let store = store(&db).await;
    let e = store
        .create_execution(
            ExecutionKind::Backtest,
            serde_json::json!({"series": ["a"]}),
            Some("idem-1".into()),
            Some("hash".into()),
            None,
        )
        .await
        .unwrap();
    assert_eq!(e.status, ExecutionStatus::Queued);
    let found = store
        .execution_by_idempotency_key("idem-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, e.id);
    store
        .set_execution_status(e.id, ExecutionStatus::Running, 0.0, None)
        .await
        .unwrap();
    store.heartbeat_execution(e.id, 0.5).await.unwrap();
    for name in ["load", "fit"] {
        store
            .add_step(
                e.id,
                NewStep {
                    name: name.into(),
                    status: StepStatus::Succeeded,
                    message: Some(format!("{name} done")),
                    items: Some(3),
                    started_at: t0(),
                    finished_at: Some(t0()),
                },
            )
            .await
            .unwrap();
    }
    store
        .set_execution_status(e.id, ExecutionStatus::Failed, 0.5, Some("boom".into()))
        .await
        .unwrap();
    let done = store.execution(e.id).await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(done.error.as_deref(), Some("boom"));
    assert!(done.started_at.is_some() && done.finished_at.is_some());
    assert_eq!(done.progress, 0.5);
    let steps = store.execution_steps(e.id).await.unwrap();
    assert_eq!(
        steps
            .iter()
            .map(|s| (s.seq, s.name.as_str()))
            .collect::<Vec<_>>(),
        vec![(1, "load"), (2, "fit")]
    );
    assert_eq!(
        store
            .list_executions(Some(ExecutionStatus::Failed), 10)
            .await
            .unwrap()
            .len(),
        1
    );
    // a second execution with the same idempotency key is refused by the database
    assert!(
        store
            .create_execution(
                ExecutionKind::Backtest,
                serde_json::json!({}),
                Some("idem-1".into()),
                None,
                None
            )
            .await
            .is_err()
    );
}

async fn scoring_tables_round_trip(db: TestDb) {
    let store = store(&db).await;
    let s = store.upsert_series(&meta("solar-01")).await.unwrap();
    let run = store
        .create_execution(
            ExecutionKind::Pipeline,
            serde_json::json!({}),
            None,
            None,
            None,
        )
        .await
        .unwrap();
    store
        .insert_predictions(&[new_prediction(&s, Some(run.id), 10.0)])
        .await
        .unwrap();
    let p = store.latest_prediction(s.id).await.unwrap();

    let profile = SeriesProfile {
        class: SeriesClass::Lumpy,
        adi: 2.5,
        cv2: 0.7,
        zero_share: 0.6,
        length: 300,
        trend_strength: 0.1,
        seasonal_strength: 0.0,
        season_length: Some(96),
    };
    store
        .insert_classifications(&[Classification {
            series_id: s.id,
            execution_id: Some(run.id),
            classified_at: t0(),
            profile: profile.clone(),
        }])
        .await
        .unwrap();
    let c = store.latest_classification(s.id).await.unwrap().unwrap();
    assert_eq!(c.profile, profile);

    let model = ModelRecord {
        id: Uuid::now_v7(),
        series_id: Some(s.id),
        execution_id: Some(run.id),
        family: "ets".into(),
        spec: "ETS(M,Ad,M)".into(),
        params: serde_json::json!({"alpha": 0.3}),
        metrics: Some(serde_json::json!({"aicc": 10.5})),
        fitted_at: t0(),
    };
    store.register_model(&model).await.unwrap();
    assert_eq!(
        store.list_models(Some(s.id), 10).await.unwrap(),
        vec![model]
    );

    let outcome = OutcomeRecord {
        id: Uuid::now_v7(),
        prediction_id: p.id,
        series_id: s.id,
        step: 1,
        target_at: p.target_at(1),
        actual: 11.0,
        forecast_mean: 10.0,
        abs_error: 1.0,
        sq_error: 1.0,
        crps: 0.4,
        pinball: vec![(0.1, 0.2), (0.5, 0.5)],
        covered_80: Some(true),
        covered_95: None,
        brier: vec![(40.0, 0.01)],
        resolved_at: t0(),
    };
    assert_eq!(
        store
            .insert_outcomes(std::slice::from_ref(&outcome))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .insert_outcomes(std::slice::from_ref(&outcome))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store.list_outcomes(Some(s.id), 10).await.unwrap(),
        vec![outcome]
    );

    let w = |model: &str, weight: f64, at: Timestamp| CalibrationWeight {
        series_class: SeriesClass::Smooth,
        model: model.into(),
        weight,
        score: Some(1.0),
        samples: 10,
        effective_at: at,
        execution_id: Some(run.id),
    };
    store
        .insert_calibration_weights(&[w("ets", 0.5, t0()), w("theta", 0.5, t0())])
        .await
        .unwrap();
    let later = t0() + Duration::days(1);
    store
        .insert_calibration_weights(&[w("ets", 0.7, later), w("theta", 0.3, later)])
        .await
        .unwrap();
    let current = store.current_calibration_weights().await.unwrap();
    let smooth = &current[&SeriesClass::Smooth];
    assert_eq!(smooth.len(), 2);
    assert_eq!(
        smooth.iter().find(|x| x.model == "ets").unwrap().weight,
        0.7
    );
    assert_eq!(
        store
            .calibration_history(Some(SeriesClass::Smooth), 10)
            .await
            .unwrap()
            .len(),
        4
    );

    let mut metrics = BTreeMap::new();
    metrics.insert("mase".to_owned(), 0.9);
    let metric = ForecastMetric {
        id: Uuid::now_v7(),
        execution_id: Some(run.id),
        series_id: s.id,
        model: "ensemble".into(),
        horizon_step: None,
        metrics,
        created_at: t0(),
    };
    store
        .insert_forecast_metrics(std::slice::from_ref(&metric))
        .await
        .unwrap();
    assert_eq!(
        store.list_forecast_metrics(Some(s.id), 10).await.unwrap(),
        vec![metric]
    );
}

async fn ingest_and_keys_round_trip(db: TestDb) {
    let store = store(&db).await;
    let mut run = store.start_ingest_run("file:data.csv").await.unwrap();
    assert_eq!(run.status, IngestStatus::Running);
    run.rows_read = 10;
    run.rows_landed = 9;
    run.rows_rolled_up = 9;
    run.rows_rejected = 1;
    run.status = IngestStatus::Succeeded;
    run.checkpoint = Some("line:11".into());
    store.finish_ingest_run(&run).await.unwrap();
    store
        .insert_rejections(&[IngestRejection {
            run_id: Some(run.id),
            source: "file:data.csv".into(),
            line: Some(4),
            reason: "column y: \"abc\" is not a number".into(),
            raw: Some("a,2026-01-01,abc".into()),
        }])
        .await
        .unwrap();
    let runs = store
        .list_ingest_runs(Some("file:data.csv"), 5)
        .await
        .unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].rows_rejected, 1);
    assert!(runs[0].finished_at.is_some());
    assert_eq!(store.rejections(run.id).await.unwrap()[0].line, Some(4));

    let key = store
        .create_api_key(NewApiKey {
            name: "ci".into(),
            prefix: "hzn_abc".into(),
            secret_hash: "hash".into(),
            scopes: "read,write".parse().unwrap(),
            expires_at: Some(t0()),
        })
        .await
        .unwrap();
    let found = store.api_key_by_prefix("hzn_abc").await.unwrap().unwrap();
    assert_eq!(found, key);
    store.touch_api_key(key.id, t0()).await.unwrap();
    store.revoke_api_key(key.id).await.unwrap();
    let after = store.api_key_by_prefix("hzn_abc").await.unwrap().unwrap();
    assert!(after.revoked_at.is_some());
    assert_eq!(after.last_used_at, Some(t0()));
    assert_eq!(store.list_api_keys().await.unwrap().len(), 1);
    assert!(store.api_key_by_prefix("other").await.unwrap().is_none());
}

async fn schema_checks(db: TestDb) {
    let store = store(&db).await;
    let applied = store.applied_migrations().await.unwrap();
    assert_eq!(applied, horizon_migration::known_migrations());
    // migrating again is a no-op
    store.migrate().await.unwrap();
    // a database one migration behind is reported as such, and `migrate` brings it up
    let old = store.upsert_series(&meta("old-tags")).await.unwrap();
    {
        use sea_orm_migration::MigratorTrait;
        horizon_migration::Migrator::down(store.connection(), Some(1))
            .await
            .unwrap();
    }
    let err = store.check_schema().await.unwrap_err();
    assert!(matches!(err, StoreError::SchemaBehind { .. }), "{err}");
    // ... and a series an earlier release wrote, thresholds as a tag, gets them typed
    use sea_orm::sea_query::ExprTrait;
    let set_tags = |tags: serde_json::Value| {
        sea_orm::sea_query::Query::update()
            .table(sea_orm::sea_query::Alias::new("series"))
            .value(sea_orm::sea_query::Alias::new("tags"), tags)
            .and_where(
                sea_orm::sea_query::Expr::col(sea_orm::sea_query::Alias::new("id")).eq(old.id),
            )
            .to_owned()
    };
    use sea_orm::ConnectionTrait;
    let backend = store.connection().get_database_backend();
    store
        .connection()
        .execute(&set_tags(
            serde_json::json!({"region": "north", "thresholds": "16; 18.5;x"}),
        ))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    assert_eq!(
        store.applied_migrations().await.unwrap(),
        horizon_migration::known_migrations()
    );
    let migrated = store.series_by_key(&old.meta.key).await.unwrap();
    assert_eq!(
        migrated.meta.thresholds,
        vec![Threshold::above(16.0), Threshold::above(18.5)]
    );
    assert_eq!(migrated.meta.tags.keys().collect::<Vec<_>>(), ["region"]);
    // a row an earlier binary writes after the migration (column empty) is read from its tag
    store
        .connection()
        .execute(
            &sea_orm::sea_query::Query::update()
                .table(sea_orm::sea_query::Alias::new("series"))
                .value(
                    sea_orm::sea_query::Alias::new("thresholds"),
                    Option::<serde_json::Value>::None,
                )
                .to_owned(),
        )
        .await
        .unwrap();
    store
        .connection()
        .execute(&set_tags(serde_json::json!({"thresholds": "7"})))
        .await
        .unwrap();
    let fallback = store.series_by_key(&old.meta.key).await.unwrap();
    assert_eq!(fallback.meta.thresholds, vec![Threshold::above(7.0)]);
    assert!(fallback.meta.tags.is_empty());
    // a migration from a newer build makes this build refuse the database
    store
        .connection()
        .execute_raw(sea_orm::Statement::from_string(
            backend,
            "INSERT INTO seaql_migrations (version, applied_at) VALUES ('m29990101_000001_future', 0)",
        ))
        .await
        .unwrap();
    let err = store.check_schema().await.unwrap_err().to_string();
    assert!(
        err.contains("newer") && err.contains("m29990101_000001_future"),
        "{err}"
    );
}

async fn vintages_in_force_read_nothing_issued_later(db: TestDb) {
    use crate::VintageWindow;
    use horizon_domain::VintageValue;
    let store = store(&db).await;
    let mut plant = meta("plant");
    plant.attributes = horizon_domain::SeriesAttributes::from_fields(|f| match f {
        "latitude" => Some("52.5"),
        "longitude" => Some("13.4"),
        "capacity" => Some("20"),
        "timezone" => Some("Europe/Berlin"),
        _ => None,
    })
    .unwrap();
    let target = store.upsert_series(&plant).await.unwrap();
    assert_eq!(
        target.meta.attributes, plant.attributes,
        "attributes round-trip"
    );
    let ids = store
        .ensure_series(&[SeriesMeta::first_sight(
            SeriesKey::parse("plant:ghi").unwrap(),
        )])
        .await
        .unwrap();
    let ghi = ids[&SeriesKey::parse("plant:ghi").unwrap()];
    let linked = store.series_by_id(ghi).await.unwrap().covariate_of.unwrap();
    assert_eq!((linked.target_id, linked.name.as_str()), (target.id, "ghi"));
    assert_eq!(store.series_to_forecast().await.unwrap().len(), 1);

    let h = |hours: i64| {
        Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap() + chrono::Duration::hours(hours)
    };
    // Issues every 24 h at hour 0 (issue k covers hours 24k+1 ..= 24k+48, value 100k + hour),
    // and one issued at 50, after as-of 49.
    let mut rows = Vec::new();
    for k in 0..3 {
        for hour in 24 * k + 1..=24 * k + 48 {
            rows.push((
                ghi,
                VintageValue {
                    issued_at: h(24 * k),
                    ts: h(hour),
                    value: (100 * k + hour) as f64,
                },
            ));
        }
    }
    rows.push((
        ghi,
        VintageValue {
            issued_at: h(50),
            ts: h(60),
            value: -1.0,
        },
    ));
    let w = store.insert_vintages(&rows).await.unwrap();
    assert_eq!((w.inserted, w.conflicts.len()), (rows.len() as u64, 0));
    // the same again: nothing new; a changed value: a conflict, the stored value kept
    assert_eq!(store.insert_vintages(&rows).await.unwrap().inserted, 0);
    let mut changed = rows[0];
    changed.1.value = 7.0;
    let w = store.insert_vintages(&[changed]).await.unwrap();
    assert_eq!(w.conflicts.len(), 1);
    assert_eq!(w.conflicts[0].stored, rows[0].1.value);

    // as-of 49: the latest issue is 48; the horizon 55..=60 reads it, the history 30..=54
    // reads, lead for lead (lead = 55 − 48 = 7), the latest issued at or before t − 7.
    let window = VintageWindow {
        series_id: ghi,
        from: h(30),
        first: h(55),
        to: h(60),
    };
    let got = store
        .vintages_in_force(&[window], h(49))
        .await
        .unwrap()
        .remove(&ghi)
        .unwrap();
    assert_eq!(got.latest, Some(h(48)));
    let expect: Vec<(i64, f64)> = (30..=60)
        .map(|hour: i64| {
            let issue = if hour >= 55 {
                48
            } else {
                ((hour - 7) / 24) * 24
            };
            (hour, (100 * issue / 24 + hour) as f64)
        })
        .collect();
    let got: Vec<(i64, f64)> = got
        .values
        .iter()
        .map(|o| ((o.ts - h(0)).num_hours(), o.value))
        .collect();
    assert_eq!(got, expect);
    // a covariate without vintages has no issue
    let none = store
        .vintages_in_force(
            &[VintageWindow {
                series_id: target.id,
                ..window
            }],
            h(49),
        )
        .await
        .unwrap();
    assert_eq!(none[&target.id].latest, None);
}

both_backends!(
    vintages_in_force_read_nothing_issued_later,
    series_round_trip,
    observations_round_trip,
    predictions_round_trip,
    executions_round_trip,
    scoring_tables_round_trip,
    ingest_and_keys_round_trip,
    schema_checks,
);

#[tokio::test]
async fn bad_database_urls_are_named() {
    let err = Store::connect_with("mysql://x", &PoolOptions::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("mysql://x"), "{err}");
    let pool = PoolOptions {
        acquire_timeout: std::time::Duration::from_secs(2),
        ..PoolOptions::default()
    };
    let err = Store::connect_with("postgres://nobody:pw@127.0.0.1:1/none", &pool)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cannot connect") && err.contains("127.0.0.1:1"),
        "{err}"
    );
    assert!(!err.contains(":pw@"), "password must be redacted: {err}");
}

#[test]
fn event_store_is_wal_and_deduplicates() {
    let dir = tempfile::tempdir().unwrap();
    let mut es = EventStore::open(&dir.path().join("events.db")).unwrap();
    assert_eq!(es.journal_mode().unwrap(), "wal");
    let rows = vec![
        ("a".to_owned(), "2026-01-01T00:00:00Z".to_owned(), 1.0),
        ("a".to_owned(), "2026-01-02T00:00:00Z".to_owned(), 2.0),
    ];
    assert_eq!(es.land_observations(&rows).unwrap(), 2);
    assert_eq!(
        es.land_observations(&rows[..1]).unwrap(),
        0,
        "identical: no change"
    );
    assert_eq!(es.count_observations().unwrap(), 2);
    let landed = es.observations_after(0, 10).unwrap();
    assert_eq!(landed.len(), 2);
    es.set_watermark("rollup", landed[1].seq).unwrap();
    assert_eq!(es.watermark("rollup").unwrap(), landed[1].seq);
    assert!(es.observations_after(landed[1].seq, 10).unwrap().is_empty());
    // a correction is landed again, after the watermark
    let fix = vec![("a".to_owned(), "2026-01-01T00:00:00Z".to_owned(), 5.0)];
    assert_eq!(es.land_observations(&fix).unwrap(), 1);
    let again = es.observations_after(landed[1].seq, 10).unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].value, 5.0);
}

#[tokio::test]
async fn redis_pool_connects_and_round_trips() {
    let Some(url) = horizon_test_support::redis_url() else {
        return;
    };
    let pool = crate::cache::connect_redis(&url, 2).await.unwrap();
    let key = format!("horizon:test:{}", Uuid::now_v7());
    let mut conn = pool.get().await.unwrap();
    let _: () = deadpool_redis::redis::cmd("SET")
        .arg(&key)
        .arg("42")
        .arg("EX")
        .arg(30)
        .query_async(&mut conn)
        .await
        .unwrap();
    let got: String = deadpool_redis::redis::cmd("GET")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(got, "42");
    let err = crate::cache::connect_redis("redis://127.0.0.1:1", 1)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Unavailable, "{err}");
}
