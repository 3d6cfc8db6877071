//! Sign-up, log-in and log-out. Passwords are hashed with argon2id by
//! [`crate::passwords`] on the hashing threads of [`crate::password_work`] (hashing
//! takes tens of milliseconds and 19 MiB by design: too long for the reactor, too big
//! for a thread per request).

use myvid_store::StoreError;
use myvid_store::meta::{NewUser, User};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ErrorCode};
use crate::ids::{new_token, token_hash};
use crate::passwords;
use crate::services::Services;

/// Shortest accepted password.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest accepted password (bounds hashing work per request).
pub const MAX_PASSWORD_CHARS: usize = 128;
/// Longest e-mail address (RFC 5321's path limit).
pub const MAX_EMAIL_CHARS: usize = 254;

/// `POST /v1/auth/signup` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SignupRequest {
    /// 3–32 characters of letters, digits, `_`, `.`, `-`.
    #[schema(pattern = r"^[A-Za-z0-9_.\-]{3,32}$")]
    pub username: String,
    /// An address with one `@`.
    #[schema(schema_with = crate::text_schema::email)]
    pub email: String,
    /// 8–128 characters.
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
}

/// `POST /v1/auth/login` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    /// Username or e-mail.
    pub credential: String,
    /// The password.
    pub password: String,
}

/// The public view of an account.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserView {
    /// Numeric id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// E-mail address.
    pub email: String,
}

impl From<&User> for UserView {
    fn from(user: &User) -> Self {
        UserView { id: user.id, username: user.username.clone(), email: user.email.clone() }
    }
}

/// Answer to sign-up and log-in.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionGrant {
    /// Bearer token for `Authorization: Bearer <token>`.
    pub token: String,
    /// Who logged in.
    pub user: UserView,
}

fn validate_username(name: &str) -> Result<(), ApiError> {
    let ok_chars = name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !(3..=32).contains(&name.len()) || !ok_chars {
        return Err(ApiError::invalid("`username` must be 3–32 characters of letters, digits, `_`, `.` or `-`"));
    }
    Ok(())
}

fn validate_email(email: &str) -> Result<(), ApiError> {
    let bad = || ApiError::invalid("`email` must be an e-mail address such as name@example.org");
    if email.chars().count() > MAX_EMAIL_CHARS || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    match email.split_once('@') {
        Some((local, domain)) if !local.is_empty() && !domain.is_empty() && !domain.contains('@') => Ok(()),
        _ => Err(bad()),
    }
}

fn validate_password(password: &str) -> Result<(), ApiError> {
    let len = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&len) {
        return Err(ApiError::invalid(format!(
            "`password` must be {MIN_PASSWORD_CHARS}–{MAX_PASSWORD_CHARS} characters long"
        )));
    }
    Ok(())
}

/// Verifies `password` against `stored`, or against the decoy hash when there is no
/// account (the answer is then always false, after the same work).
async fn verify_password(password: String, stored: Option<String>) -> Result<bool, ApiError> {
    match stored {
        Some(stored) => passwords::verify(password, stored).await,
        None => {
            passwords::verify(password, decoy_hash().await?).await?;
            Ok(false)
        }
    }
}

async fn open_session(services: &Services, user: User) -> Result<SessionGrant, ApiError> {
    let token = new_token();
    let expires_at = services.clock.now() + services.settings.session_ttl_secs;
    services.meta.create_session(&token_hash(&token), user.id, expires_at).await?;
    Ok(SessionGrant { token, user: UserView::from(&user) })
}

/// Creates an account and logs it in.
pub async fn signup(services: &Services, req: SignupRequest) -> Result<SessionGrant, ApiError> {
    let username = req.username.trim().to_owned();
    let email = req.email.trim().to_owned();
    validate_username(&username)?;
    validate_email(&email)?;
    validate_password(&req.password)?;
    let password_hash = passwords::hash(req.password).await?;
    let new = NewUser { username, email, password_hash, created_at: services.clock.now() };
    let user = services.meta.create_user(new).await.map_err(|e| match e {
        StoreError::Conflict(what) => ApiError::new(ErrorCode::Conflict, format!("that {what} is already registered")),
        other => other.into(),
    })?;
    services.metrics.signups.inc();
    open_session(services, user).await
}

/// A valid argon2id hash of a password nobody has, verified in place of a real one
/// when the account does not exist, so that an unknown account costs the same work as
/// a wrong password. Made once, with the same parameters as real hashes.
async fn decoy_hash() -> Result<String, ApiError> {
    static DECOY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DECOY.get_or_try_init(|| passwords::hash(new_token())).await.cloned()
}

/// Checks a username-or-e-mail and password and opens a session.
///
/// Every refusal takes the same time whatever went wrong: an unknown account is
/// checked against a decoy hash, and a refusal is answered no sooner than
/// `failed_login_delay` after the request began (also a slowdown for guessing). The
/// account's attempt budget ([`crate::abuse::Limiters::check_account`]) is spent
/// before the password is looked at.
pub async fn login(services: &Services, req: LoginRequest) -> Result<SessionGrant, ApiError> {
    let started = tokio::time::Instant::now();
    let result = check_login(services, req).await;
    if let Err(e) = &result
        && e.code == ErrorCode::InvalidCredentials
    {
        services.metrics.login_failures.inc();
        tokio::time::sleep_until(started + services.settings.failed_login_delay).await;
    }
    result
}

async fn check_login(services: &Services, req: LoginRequest) -> Result<SessionGrant, ApiError> {
    let refused = || ApiError::new(ErrorCode::InvalidCredentials, "wrong username, e-mail or password");
    let credential = req.credential.trim();
    if credential.is_empty()
        || credential.chars().count() > MAX_EMAIL_CHARS
        || req.password.chars().count() > MAX_PASSWORD_CHARS
    {
        return Err(refused());
    }
    if let Err(refused) = services.limits.check_account(credential) {
        services.metrics.rate_limited.inc();
        return Err(refused);
    }
    let found = services.meta.user_credentials(credential).await?;
    let matches = verify_password(req.password, found.as_ref().map(|f| f.password_hash.clone())).await?;
    match found {
        Some(found) if matches => open_session(services, found.user).await,
        _ => Err(refused()),
    }
}

/// Ends the session behind `token_hash`.
pub async fn logout(services: &Services, token_hash: &str) -> Result<(), ApiError> {
    services.meta.delete_session(token_hash).await?;
    Ok(())
}

/// Used by the text checks elsewhere: the same rule for usernames everywhere.
pub fn is_valid_username(name: &str) -> bool {
    validate_username(name).is_ok()
}

#[cfg(test)]
mod properties;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_rules() {
        assert!(is_valid_username("alice_01"));
        for bad in ["ab", "has space", "ünï", &"x".repeat(33)] {
            assert!(!is_valid_username(bad), "{bad}");
        }
        assert!(validate_email("a@b").is_ok());
        for bad in ["", "a", "@b", "a@", "a@b@c", "a b@c"] {
            assert!(validate_email(bad).is_err(), "{bad}");
        }
        assert!(validate_password("12345678").is_ok());
        assert!(validate_password("1234567").is_err());
        assert!(validate_password(&"x".repeat(129)).is_err());
    }

    #[tokio::test]
    async fn hashes_verify_and_reject() {
        let hash = passwords::hash("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse".into(), Some(hash.clone())).await.unwrap());
        assert!(!verify_password("wrong horse".into(), Some(hash)).await.unwrap());
        assert!(!verify_password("correct horse".into(), None).await.unwrap(), "no account never matches");
    }
}
