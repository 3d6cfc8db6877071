//! `GET /v1/openapi.json`: the API's OpenAPI 3.1 document (from `myvid_api::openapi`)
//! with the endpoint's `NEWVIDEOUPLOAD` merged in. Both halves are generated from the
//! handlers; the test below holds the document against the routes the routers
//! register, so neither can gain a call the other lacks.

use std::sync::Arc;

use axum::Router;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::IntoResponse;
use axum::routing::get;

/// The whole document: API calls plus the endpoint's.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = myvid_api::openapi::document();
    doc.merge(myvid_endpoint::openapi());
    doc
}

/// The route serving [`document`] as JSON (rendered once).
pub fn routes() -> Router {
    let json: Arc<str> = document().to_json().expect("the OpenAPI document serialises").into();
    Router::new().route(
        "/v1/openapi.json",
        get(move || async move {
            ([(CONTENT_TYPE, "application/json"), (CACHE_CONTROL, "no-cache")], json.to_string()).into_response()
        }),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// `(METHOD, path)` of every operation in the document.
    fn documented() -> BTreeSet<(String, String)> {
        let doc: serde_json::Value = serde_json::to_value(document()).unwrap();
        let mut ops = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                ops.insert((method.to_uppercase(), path.clone()));
            }
        }
        ops
    }

    /// A path and its trailing-slash twin are one call (the original API answers both;
    /// the document names one).
    fn canonical(path: &str) -> String {
        path.trim_end_matches('/').to_owned()
    }

    #[test]
    fn the_document_describes_exactly_the_routes_the_routers_register() {
        let registered: BTreeSet<(String, String)> = myvid_api::documented_routes()
            .into_iter()
            .chain(myvid_endpoint::documented_routes())
            .map(|(method, path)| (method.to_string(), canonical(path)))
            .collect();
        let documented: BTreeSet<(String, String)> =
            documented().into_iter().map(|(method, path)| (method, canonical(&path))).collect();
        let undocumented: Vec<_> = registered.difference(&documented).collect();
        let unrouted: Vec<_> = documented.difference(&registered).collect();
        assert!(undocumented.is_empty(), "routes missing from the OpenAPI document: {undocumented:?}");
        assert!(unrouted.is_empty(), "documented operations no router answers: {unrouted:?}");
        assert!(
            registered.len() >= 19,
            "{} routes: the routers registered fewer calls than expected",
            registered.len()
        );
    }

    #[test]
    fn the_document_is_openapi_3_1_with_the_error_schema_and_bearer_auth() {
        let doc: serde_json::Value = serde_json::to_value(document()).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
        let codes = &doc["components"]["schemas"]["Error"]["properties"]["error"];
        assert!(codes.is_object(), "the Error schema: {}", doc["components"]["schemas"]["Error"]);
        // Every error answer of every operation is the Error schema.
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                for (status, response) in op["responses"].as_object().unwrap() {
                    if status.starts_with('4') || status.starts_with('5') {
                        let schema = &response["content"]["application/json"]["schema"]["$ref"];
                        assert_eq!(schema, "#/components/schemas/Error", "{method} {path} {status}");
                    }
                }
            }
        }
    }
}
