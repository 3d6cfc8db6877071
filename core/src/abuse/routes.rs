//! Which requests count against which limit: one table from route template (as axum
//! matched it) and method to an [`Action`], so every limited call is listed here.

use axum::http::Method;

/// A limited kind of request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Log-in.
    Login,
    /// Sign-up.
    Signup,
    /// Creating an upload.
    Upload,
    /// Creating a live stream.
    Stream,
    /// Search and listings.
    Search,
    /// Opening a signalling WebSocket.
    Connect,
    /// A WHIP or WHEP offer.
    Whip,
    /// Following or unfollowing a channel.
    Follow,
    /// Reporting a view (the player's beacon).
    View,
    /// Opening the live-notification WebSocket.
    Notify,
    /// Asking for a live chat token.
    ChatToken,
}

impl Action {
    /// Every action, in the order limiters are kept.
    pub const ALL: [Action; 11] = [
        Action::Login,
        Action::Signup,
        Action::Upload,
        Action::Stream,
        Action::Search,
        Action::Connect,
        Action::Whip,
        Action::Follow,
        Action::View,
        Action::Notify,
        Action::ChatToken,
    ];

    /// Position in [`Action::ALL`].
    pub fn index(self) -> usize {
        Action::ALL.iter().position(|a| *a == self).unwrap_or(0)
    }

    /// What is counted, in words for the 429 message.
    pub fn describe(self) -> &'static str {
        match self {
            Action::Login => "log-in attempts from your address",
            Action::Signup => "sign-ups from your address",
            Action::Upload => "new uploads from your address",
            Action::Stream => "new live streams from your address",
            Action::Search => "searches from your address",
            Action::Connect => "live connections from your address",
            Action::Whip => "WHIP/WHEP offers from your address",
            Action::Follow => "follows from your address",
            Action::View => "views reported from your address",
            Action::Notify => "notification connections from your address",
            Action::ChatToken => "chat tokens asked for from your address",
        }
    }
}

/// The action a request to `route` (a matched route template) with `method` counts
/// as, if it is limited.
pub fn action_for(method: &Method, route: &str) -> Option<Action> {
    let action = match (method.as_str(), route) {
        ("POST", "/v1/auth/login") => Action::Login,
        ("POST", "/v1/auth/signup") => Action::Signup,
        ("POST", "/API/NEWUPLOAD/" | "/API/NEWUPLOAD" | "/v1/uploads" | "/NEWVIDEOUPLOAD" | "/NEWVIDEOUPLOAD/")
        // Starting a multipart upload, like creating one; its part URLs, status and
        // completion are not limited (a resumed upload asks for them many times).
        | ("POST", "/v1/uploads/{id}/multipart") => {
            Action::Upload
        }
        ("POST", "/API/NEWSTREAM/" | "/API/NEWSTREAM" | "/v1/streams") => Action::Stream,
        ("POST", "/API/VIDEO/" | "/API/VIDEO") | ("GET", "/v1/videos" | "/v1/videos/random") => Action::Search,
        ("GET", "/ENDPOINT/{stream_id}") => Action::Connect,
        ("POST", "/whip/{stream_id}" | "/whep/{stream_id}") => Action::Whip,
        ("PUT" | "DELETE", "/v1/channels/{username}/follow") => Action::Follow,
        ("POST", "/v1/videos/{id}/views") => Action::View,
        ("GET", "/v1/me/notifications") => Action::Notify,
        ("POST", "/v1/streams/{id}/chat-token") => Action::ChatToken,
        _ => return None,
    };
    Some(action)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_follow_the_list() {
        for (i, a) in Action::ALL.iter().enumerate() {
            assert_eq!(a.index(), i);
        }
    }

    #[test]
    fn limited_routes_map_to_their_action_and_others_to_none() {
        assert_eq!(action_for(&Method::POST, "/v1/auth/login"), Some(Action::Login));
        assert_eq!(action_for(&Method::GET, "/ENDPOINT/{stream_id}"), Some(Action::Connect));
        assert_eq!(action_for(&Method::GET, "/v1/me/notifications"), Some(Action::Notify));
        assert_eq!(action_for(&Method::POST, "/v1/streams/{id}/chat-token"), Some(Action::ChatToken));
        assert_eq!(action_for(&Method::GET, "/v1/videos/{id}"), None);
        assert_eq!(action_for(&Method::GET, "/v1/auth/login"), None);
        assert_eq!(action_for(&Method::POST, "/v1/uploads/{id}/multipart"), Some(Action::Upload));
        assert_eq!(action_for(&Method::POST, "/v1/uploads/{id}/multipart/parts"), None);
    }
}
