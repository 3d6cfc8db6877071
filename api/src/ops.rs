//! Operations endpoints: Prometheus metrics and a health check.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use myvid_core::object_health::StoreState;
use myvid_core::{ApiError, Services};
use serde_json::{Value, json};

pub fn routes() -> Router<Services> {
    Router::new().route("/metrics", get(metrics)).route("/healthz", get(health))
}

async fn metrics(State(services): State<Services>) -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], services.metrics.render())
}

/// `200` when the metadata store answers a read (else its 503), with the object store's
/// last probed state: `status` is `ok`, or `degraded` while the object store is read-only
/// or unavailable (searching and watching what is stored go on; uploads are refused).
async fn health(State(services): State<Services>) -> Result<Json<Value>, ApiError> {
    services.meta.list_public(1, None).await?;
    let objects = services.objects_health.report();
    let status = if objects.state == StoreState::Writable { "ok" } else { "degraded" };
    Ok(Json(json!({ "status": status, "objects": objects })))
}
