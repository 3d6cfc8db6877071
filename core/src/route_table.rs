//! [`RouteTable`]: an axum router that remembers which method and path each route
//! was registered with, so that a test can hold the OpenAPI document against what
//! the server really answers (neither can gain a route the other lacks).

use std::collections::BTreeMap;

use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodRouter, delete, get, patch, post, put};

/// Routes under construction, and the `(method, path)` of each.
pub struct RouteTable<S> {
    routes: BTreeMap<&'static str, MethodRouter<S>>,
    registered: Vec<(Method, &'static str)>,
}

impl<S: Clone + Send + Sync + 'static> Default for RouteTable<S> {
    fn default() -> Self {
        RouteTable { routes: BTreeMap::new(), registered: Vec::new() }
    }
}

impl<S: Clone + Send + Sync + 'static> RouteTable<S> {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `GET path` answered by `handler`.
    pub fn get<H: Handler<T, S>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.add(Method::GET, path, get(handler))
    }

    /// Adds `POST path` answered by `handler`.
    pub fn post<H: Handler<T, S>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.add(Method::POST, path, post(handler))
    }

    /// Adds `PUT path` answered by `handler`.
    pub fn put<H: Handler<T, S>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.add(Method::PUT, path, put(handler))
    }

    /// Adds `PATCH path` answered by `handler`.
    pub fn patch<H: Handler<T, S>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.add(Method::PATCH, path, patch(handler))
    }

    /// Adds `DELETE path` answered by `handler`.
    pub fn delete<H: Handler<T, S>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.add(Method::DELETE, path, delete(handler))
    }

    fn add(mut self, method: Method, path: &'static str, route: MethodRouter<S>) -> Self {
        let merged = match self.routes.remove(path) {
            Some(existing) => existing.merge(route),
            None => route,
        };
        self.routes.insert(path, merged);
        self.registered.push((method, path));
        self
    }

    /// Every `(method, path)` added, in order.
    pub fn registered(&self) -> &[(Method, &'static str)] {
        &self.registered
    }

    /// Adds every route of `other`.
    pub fn merge(mut self, other: RouteTable<S>) -> Self {
        for (path, route) in other.routes {
            let merged = match self.routes.remove(path) {
                Some(existing) => existing.merge(route),
                None => route,
            };
            self.routes.insert(path, merged);
        }
        self.registered.extend(other.registered);
        self
    }

    /// The axum router.
    pub fn into_router(self) -> Router<S> {
        self.routes.into_iter().fold(Router::new(), |router, (path, route)| router.route(path, route))
    }
}
