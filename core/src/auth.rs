//! Bearer-token authentication as axum extractors.
//!
//! A token is 32 random bytes handed out at sign-up or log-in; the store keeps only
//! its SHA-256 ([`crate::ids::token_hash`]). [`AuthUser`] requires a live session,
//! [`MaybeUser`] accepts anonymous requests too.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use myvid_store::meta::User;

use crate::error::{ApiError, ErrorCode};
use crate::ids::token_hash;
use crate::limits::MAX_TOKEN_CHARS;
use crate::services::Services;

/// A request made with a live session.
#[derive(Debug, Clone)]
pub struct AuthUser {
    /// Who is calling.
    pub user: User,
    /// The session's stored token hash (what log-out deletes).
    pub token_hash: String,
}

/// The caller if a valid token came with the request, `None` if none did. A token
/// that is present but invalid is still refused, so a client learns its session ended.
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<AuthUser>);

fn bearer(parts: &Parts) -> Result<Option<&str>, ApiError> {
    let Some(value) = parts.headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || ApiError::new(ErrorCode::Unauthorized, "the Authorization header must be `Bearer <token>`");
    let value = value.to_str().map_err(|_| malformed())?;
    let token = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")).ok_or_else(malformed)?.trim();
    if token.is_empty() || token.len() > MAX_TOKEN_CHARS {
        return Err(malformed());
    }
    Ok(Some(token))
}

async fn session(parts: &Parts, services: &Services) -> Result<Option<AuthUser>, ApiError> {
    let Some(token) = bearer(parts)? else {
        return Ok(None);
    };
    let hash = token_hash(token);
    match services.meta.session_user(&hash, services.clock.now()).await? {
        Some(user) => Ok(Some(AuthUser { user, token_hash: hash })),
        None => Err(ApiError::new(ErrorCode::Unauthorized, "the session has expired or was logged out; log in again")),
    }
}

impl<S> FromRequestParts<S> for AuthUser
where
    Services: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let services = Services::from_ref(state);
        session(parts, &services).await?.ok_or_else(|| {
            ApiError::new(ErrorCode::Unauthorized, "log in first: this call needs `Authorization: Bearer <token>`")
        })
    }
}

impl<S> FromRequestParts<S> for MaybeUser
where
    Services: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let services = Services::from_ref(state);
        Ok(MaybeUser(session(parts, &services).await?))
    }
}

#[cfg(test)]
mod properties;
