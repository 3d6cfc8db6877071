//! Channels: a user's public face at `/c/{username}` (their live stream, their public
//! videos, their followers), and following them.

use myvid_store::StoreError;
use myvid_store::meta::{Page, PageToken, User};
use serde::Serialize;

use crate::accounts::is_valid_username;
use crate::error::{ApiError, ErrorCode};
use crate::services::Services;
use crate::view::{VideoView, channel_url, video_view};

/// A channel as its page shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChannelView {
    /// The owner's username.
    pub username: String,
    /// The channel page, `/c/{username}`.
    pub url: String,
    /// Unix seconds when the account was made.
    pub created_at: i64,
    /// How many follow it.
    pub followers: u64,
    /// Whether the caller follows it (`null` when not signed in).
    pub following: Option<bool>,
    /// Its stream, while one is live.
    pub live: Option<VideoView>,
}

/// A channel in a list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChannelSummary {
    /// The owner's username.
    pub username: String,
    /// The channel page, `/c/{username}`.
    pub url: String,
}

/// The answer to a follow or unfollow.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FollowState {
    /// Whether the caller follows the channel now.
    pub following: bool,
    /// How many follow it now.
    pub followers: u64,
}

/// One followed channel.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FollowedChannel {
    /// The channel.
    pub channel: ChannelSummary,
    /// Its stream, while one is live.
    pub live: Option<VideoView>,
    /// Unix seconds when the caller followed it.
    pub followed_at: i64,
}

/// The account behind channel `username`; `not_found` if there is none.
pub async fn owner(services: &Services, username: &str) -> Result<User, ApiError> {
    if !is_valid_username(username) {
        return Err(ApiError::not_found("channel"));
    }
    services.meta.user_by_name(username).await?.ok_or_else(|| ApiError::not_found("channel"))
}

/// Channel `username` as `viewer` (if signed in) sees it.
pub async fn channel(services: &Services, viewer: Option<&User>, username: &str) -> Result<ChannelView, ApiError> {
    let user = owner(services, username).await?;
    let (followers, follows) = services.meta.follow_state(viewer.map(|v| v.id), user.id).await?;
    let live = match services.meta.live_by_owner(user.id).await? {
        Some(video) => Some(video_view(services, &video).await?),
        None => None,
    };
    Ok(ChannelView {
        url: channel_url(&user.username),
        username: user.username,
        created_at: user.created_at,
        followers,
        following: viewer.map(|_| follows),
        live,
    })
}

/// `follower` follows (`true`) or stops following channel `username`.
pub async fn set_following(
    services: &Services,
    follower: &User,
    username: &str,
    follow: bool,
) -> Result<FollowState, ApiError> {
    let channel = owner(services, username).await?;
    if follow {
        match services.meta.follow(follower.id, channel.id, services.clock.now()).await {
            Ok(_) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(ApiError::new(ErrorCode::Conflict, "You cannot follow your own channel."));
            }
            Err(StoreError::NotFound) => return Err(ApiError::not_found("channel")),
            Err(e) => return Err(e.into()),
        }
    } else {
        services.meta.unfollow(follower.id, channel.id).await?;
    }
    let (followers, following) = services.meta.follow_state(Some(follower.id), channel.id).await?;
    Ok(FollowState { following, followers })
}

/// A page of the channels `follower` follows, live ones first.
pub async fn following(
    services: &Services,
    follower: &User,
    limit: u32,
    start: Option<PageToken>,
) -> Result<(Vec<FollowedChannel>, Option<PageToken>), ApiError> {
    let page = services.meta.following(follower.id, limit, start).await?;
    let mut items = Vec::with_capacity(page.items.len());
    for followed in page.items {
        let live = match &followed.live {
            Some(video) => Some(video_view(services, video).await?),
            None => None,
        };
        items.push(FollowedChannel {
            channel: ChannelSummary { url: channel_url(&followed.user.username), username: followed.user.username },
            live,
            followed_at: followed.followed_at,
        });
    }
    Ok((items, page.next))
}

/// A page of channel `username`'s public videos, newest first.
pub async fn channel_videos(
    services: &Services,
    username: &str,
    limit: u32,
    start: Option<PageToken>,
) -> Result<Page<myvid_store::meta::Video>, ApiError> {
    let user = owner(services, username).await?;
    Ok(services.meta.list_public_by_owner(user.id, limit, start).await?)
}
