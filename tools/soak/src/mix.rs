//! The request mix: what one step of the soak sends. Every kind of request a public
//! server sees a lot of, including the hostile ones (random methods, unknown paths,
//! wrong passwords, throw-away accounts) that used to leave state behind.

use anyhow::Context;
use serde_json::{Value, json};

/// What the steps share: the server, a logged-in user, one of its stream ids.
pub struct Target {
    /// Base URL of the server.
    pub url: String,
    /// HTTP client (keep-alive pool).
    pub http: reqwest::Client,
    /// A bearer token.
    pub token: String,
    /// The user's username.
    pub username: String,
    /// A stream the user created (pending).
    pub stream_id: String,
}

/// Methods that are not HTTP's, of several lengths.
fn odd_method(step: u64) -> String {
    let len = 3 + (step % 40) as usize;
    format!("X{:0len$}", step % 100_000, len = len)
}

/// Sends request number `step` of the mix; returns its status.
pub async fn step(t: &Target, step: u64) -> anyhow::Result<u16> {
    let url = &t.url;
    let res = match step % 20 {
        0..=7 => t.http.get(format!("{url}/v1/videos?q=word{}&limit=10", step % 500)).send().await,
        8..=9 => {
            t.http.post(format!("{url}/API/VIDEO/")).json(&json!({"search": format!("w{}", step % 97)})).send().await
        }
        10 => t.http.get(format!("{url}/API/VIDEO/{}", t.stream_id)).bearer_auth(&t.token).send().await,
        11 => t.http.get(format!("{url}/API/VIDEO/missing{step}")).send().await,
        12 => {
            let body = json!({"credential": format!("nobody{step}"), "password": "wrong-password"});
            t.http.post(format!("{url}/v1/auth/login")).json(&body).send().await
        }
        13 => {
            let body = json!({"credential": t.username, "password": format!("password-{}", t.username)});
            t.http.post(format!("{url}/v1/auth/login")).json(&body).send().await
        }
        14 => {
            let method = reqwest::Method::from_bytes(odd_method(step).as_bytes()).context("method")?;
            t.http.request(method, format!("{url}/v1/videos")).send().await
        }
        15 => t.http.get(format!("{url}/no/such/page/{step}")).send().await,
        16 => {
            let body =
                json!({"title": format!("soak {step}"), "preview_filename": "p.png", "video_filename": "v.webm"});
            t.http.post(format!("{url}/v1/uploads")).bearer_auth(&t.token).json(&body).send().await
        }
        17 => t.http.get(format!("{url}/v1/me/videos?limit=5")).bearer_auth(&t.token).send().await,
        18 => t.http.get(format!("{url}/API/ICE")).send().await,
        _ => t.http.get(format!("{url}/metrics")).send().await,
    }?;
    let status = res.status().as_u16();
    // Read the body so the connection returns to the pool.
    res.bytes().await?;
    Ok(status)
}

/// Signs up `name` and returns its token.
pub async fn signup(http: &reqwest::Client, url: &str, name: &str) -> anyhow::Result<String> {
    let body = json!({"username": name, "email": format!("{name}@soak.test"), "password": format!("password-{name}")});
    let res: Value =
        http.post(format!("{url}/v1/auth/signup")).json(&body).send().await?.error_for_status()?.json().await?;
    res["token"].as_str().map(str::to_owned).context("signup answered no token")
}

/// Creates a (pending) live stream and returns its id.
pub async fn new_stream(http: &reqwest::Client, url: &str, token: &str) -> anyhow::Result<String> {
    let res: Value = http
        .post(format!("{url}/API/NEWSTREAM/"))
        .bearer_auth(token)
        .json(&json!({"title": "soak stream"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    res["stream_id"].as_str().map(str::to_owned).context("NEWSTREAM answered no stream_id")
}
