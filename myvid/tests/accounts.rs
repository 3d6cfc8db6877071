//! Accounts: sign-up, log-in by username or e-mail, log-out revoking the token,
//! duplicate and malformed sign-ups.

mod support;

use serde_json::{Value, json};
use support::{TestServer, assert_error};

#[tokio::test]
async fn signup_login_me_and_logout_revokes_the_token() {
    let server = TestServer::start().await;
    let token = server.signup("alice").await;

    let me: Value = server.get("/v1/me", Some(&token)).await.json().await.unwrap();
    assert_eq!(me["username"], "alice");
    assert_eq!(me["email"], "alice@example.org");

    for credential in ["alice", "ALICE@example.org"] {
        let res = server
            .post_json("/v1/auth/login", None, json!({"credential": credential, "password": "password-alice"}))
            .await;
        assert_eq!(res.status(), 200, "login with {credential}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["user"]["username"], "alice");
        assert_ne!(body["token"], token.as_str(), "each login gets its own token");
    }

    let res = server.post_json("/v1/auth/logout", Some(&token), json!({})).await;
    assert_eq!(res.status(), 204);
    assert_error(server.get("/v1/me", Some(&token)).await, 401, "unauthorized").await;
    server.stop().await;
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_answer() {
    let server = TestServer::start().await;
    server.signup("bob").await;
    let wrong = server.post_json("/v1/auth/login", None, json!({"credential": "bob", "password": "nope-nope"})).await;
    let m1 = assert_error(wrong, 401, "invalid_credentials").await;
    let unknown =
        server.post_json("/v1/auth/login", None, json!({"credential": "nobody", "password": "nope-nope"})).await;
    let m2 = assert_error(unknown, 401, "invalid_credentials").await;
    assert_eq!(m1, m2, "the answer must not reveal which accounts exist");
    let metrics = server.get("/metrics", None).await.text().await.unwrap();
    assert!(metrics.contains("myvid_login_failures_total 2"), "{metrics}");
}

#[tokio::test]
async fn duplicate_username_or_email_is_a_conflict() {
    let server = TestServer::start().await;
    server.signup("carol").await;
    let same_name = server
        .post_json(
            "/v1/auth/signup",
            None,
            json!({"username": "Carol", "email": "x@example.org", "password": "12345678"}),
        )
        .await;
    assert!(assert_error(same_name, 409, "conflict").await.contains("username"));
    let same_email = server
        .post_json(
            "/v1/auth/signup",
            None,
            json!({"username": "carol2", "email": "CAROL@example.org", "password": "12345678"}),
        )
        .await;
    assert!(assert_error(same_email, 409, "conflict").await.contains("email"));
}

#[tokio::test]
async fn malformed_signups_are_refused_with_the_field_named() {
    let server = TestServer::start().await;
    let cases = [
        (json!({"username": "ab", "email": "a@b.c", "password": "12345678"}), "username"),
        (json!({"username": "has space", "email": "a@b.c", "password": "12345678"}), "username"),
        (json!({"username": "dave", "email": "not-an-email", "password": "12345678"}), "email"),
        (json!({"username": "dave", "email": "a@b.c", "password": "short"}), "password"),
        (json!({"username": "dave", "email": "a@b.c", "password": "x".repeat(129)}), "password"),
        (json!({"username": "dave", "email": "a@b.c"}), "password"),
        (json!({"username": 7, "email": "a@b.c", "password": "12345678"}), "username"),
    ];
    for (body, field) in cases {
        let res = server.post_json("/v1/auth/signup", None, body.clone()).await;
        let message = assert_error(res, 400, "invalid_input").await;
        assert!(message.contains(field), "{body}: {message}");
    }
    // Nothing was half-created: the name is still free.
    server.signup("dave").await;
}

#[tokio::test]
async fn expired_sessions_are_refused() {
    let server = TestServer::start().await;
    let token = server.signup("erin").await;
    assert_eq!(server.get("/v1/me", Some(&token)).await.status(), 200);
    server.clock.advance(31 * 24 * 3600);
    assert_error(server.get("/v1/me", Some(&token)).await, 401, "unauthorized").await;
}

#[tokio::test]
async fn bad_authorization_headers_are_refused() {
    let server = TestServer::start().await;
    for header in ["Basic abc", "Bearer ", "Bearer not-a-real-token", &format!("Bearer {}", "x".repeat(200))] {
        let res = server.http.get(server.at("/v1/me")).header("authorization", header).send().await.unwrap();
        assert_error(res, 401, "unauthorized").await;
    }
    assert_error(server.get("/v1/me", None).await, 401, "unauthorized").await;
}
