//! `GET /v1/openapi.json`: the API's OpenAPI 3.1 document (from `myvid_api::openapi`)
//! with the endpoint's `NEWVIDEOUPLOAD` merged in. Both halves are generated from the
//! handlers; the test below holds the document against the routes the routers
//! register, so neither can gain a call the other lacks.

use std::sync::Arc;

use axum::Router;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::IntoResponse;
use axum::routing::get;

/// The whole document: API calls plus the endpoint's, with the `429` of every call
/// the abuse limits count (from their one table, `myvid_core::abuse::action_for`).
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = myvid_api::openapi::document();
    doc.merge(myvid_endpoint::openapi());
    add_rate_limit_responses(&mut doc);
    doc
}

/// Adds `429 rate_limited` to each operation an abuse limit applies to, with the
/// shape of the operation's other error answers.
fn add_rate_limit_responses(doc: &mut utoipa::openapi::OpenApi) {
    use axum::http::Method;
    use myvid_core::abuse::action_for;
    for (path, item) in &mut doc.paths.paths {
        let operations = [(Method::GET, &mut item.get), (Method::POST, &mut item.post), (Method::PUT, &mut item.put)];
        for (method, operation) in operations {
            let Some(operation) = operation else { continue };
            // The routers answer the original calls with and without a trailing slash.
            let limited = action_for(&method, path).or_else(|| action_for(&method, path.trim_end_matches('/')));
            let Some(action) = limited else { continue };
            let responses = &mut operation.responses.responses;
            let Some(error) = responses.iter().find(|(status, _)| status.starts_with('4')).map(|(_, r)| r.clone())
            else {
                continue;
            };
            let mut refused = error;
            if let utoipa::openapi::RefOr::T(response) = &mut refused {
                response.description =
                    format!("`rate_limited`: too many {} lately; see `Retry-After`", action.describe());
            }
            responses.insert("429".to_owned(), refused);
        }
    }
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
    fn every_rate_limited_call_documents_its_429() {
        let doc: serde_json::Value = serde_json::to_value(document()).unwrap();
        for (method, path) in [("post", "/v1/auth/login"), ("post", "/v1/auth/signup"), ("get", "/v1/videos")] {
            let refused = &doc["paths"][path][method]["responses"]["429"];
            assert!(refused["description"].as_str().unwrap().contains("rate_limited"), "{method} {path}");
        }
        assert!(doc["paths"]["/v1/me"]["get"]["responses"]["429"].is_null(), "unlimited calls have none");
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
