//! The middleware that applies the per-IP rates to each request, by the route axum
//! matched ([`super::action_for`]). The client's address comes from the connection
//! (`ConnectInfo`, set by the server loop); a request without one (a test driving the
//! router directly) is not limited.

use std::net::SocketAddr;

use axum::extract::connect_info::ConnectInfo;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::action_for;
use crate::services::Services;

/// Refuses a request with 429 `rate_limited` when its client is over the rate of what
/// it asks for.
pub async fn limit(State(services): State<Services>, req: Request, next: Next) -> Response {
    let client = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let action = req.extensions().get::<MatchedPath>().and_then(|route| action_for(req.method(), route.as_str()));
    if let (Some(ip), Some(action)) = (client, action)
        && let Err(refused) = services.limits.check_ip(action, ip)
    {
        tracing::info!(%ip, ?action, "rate limited");
        services.metrics.rate_limited.inc();
        return refused.into_response();
    }
    next.run(req).await
}
