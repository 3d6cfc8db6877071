//! Opening an authenticated WebSocket to the endpoint, and keeping it alive.
//!
//! ```text
//!  open(url, secret) ─▶ GET url, Authorization: Bearer <secret> ─▶ 101 ─▶ Ws
//!  KeepAlive: every `keepalive` ─▶ Ping; nothing heard for `idle_timeout` ─▶ Silent
//! ```

use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::Request;
use tokio_tungstenite::tungstenite::http::header::{AUTHORIZATION, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async_with_config};

use super::LinkError;

/// A WebSocket to the endpoint.
pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

use myvid_proto::keepalive::WS_MAX_MESSAGE_BYTES;

/// A request for `url` carrying the SFU secret; checked once when the link starts so
/// that a bad URL or secret is an error at start-up, not a retry loop.
pub(crate) fn request(url: &str, secret: &str) -> Result<Request<()>, LinkError> {
    let mut request = url.into_client_request().map_err(|e| LinkError::InvalidUrl(format!("{url}: {e}")))?;
    let bearer = HeaderValue::from_str(&format!("Bearer {secret}")).map_err(|_| LinkError::InvalidSecret)?;
    request.headers_mut().insert(AUTHORIZATION, bearer);
    Ok(request)
}

/// Opens `request`, giving up after `within`.
pub(crate) async fn open(request: Request<()>, within: Duration) -> Result<Ws, String> {
    let config = WebSocketConfig::default()
        .max_message_size(Some(WS_MAX_MESSAGE_BYTES))
        .max_frame_size(Some(WS_MAX_MESSAGE_BYTES));
    match timeout(within, connect_async_with_config(request, Some(config), true)).await {
        Ok(Ok((ws, _response))) => Ok(ws),
        Ok(Err(err)) => Err(err.to_string()),
        Err(_) => Err(format!("no answer within {within:?}")),
    }
}

/// Sends a close frame; errors are ignored, the socket is dropped next.
pub(crate) async fn close(ws: &mut Ws, code: CloseCode, reason: &str) {
    let _ = ws.close(Some(CloseFrame { code, reason: reason.into() })).await;
}

/// An empty ping.
pub(crate) fn ping() -> Message {
    Message::Ping(Default::default())
}

pub(crate) use myvid_proto::keepalive::{Due, KeepAlive};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_carry_the_secret_and_refuse_bad_input() {
        let ok = request("ws://127.0.0.1:9/SFU", "s3cret").unwrap();
        assert_eq!(ok.headers()[AUTHORIZATION], "Bearer s3cret");
        assert!(matches!(request("not a url", "s"), Err(LinkError::InvalidUrl(_))));
        assert!(matches!(request("ws://127.0.0.1:9/SFU", "bad\nsecret"), Err(LinkError::InvalidSecret)));
    }
}
