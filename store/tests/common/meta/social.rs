//! Conformance checks of the product around the videos: unlisted videos, editing and
//! deleting, follows, view counts and co-watch pairs, channel and popular listings.
//!
//! The checks may share one store with every other check: each uses names of its own,
//! asserts about its own videos only, and drains the jobs it queued.

use myvid_store::StoreError;
use myvid_store::meta::{JobKind, LiveState, MetaStore, NewPurge, PageToken, Video, VideoChange, ViewMark, Visibility};

use super::{
    FAR, NOW, assert_conflict, drain, ids, list_public_all, media, new_job, public, search_all, stored, stream_record,
    token, user,
};

/// A purge job for a delete at `at`, due at once.
fn purge(seed: &str, at: i64) -> NewPurge {
    NewPurge { id: token(&format!("purge-{seed}")), max_attempts: 3, run_after: at, created_at: at }
}

/// A viewer's hash: 16 bytes derived from `seed`.
fn viewer(seed: &str) -> [u8; 16] {
    let hex = token(&format!("viewer-{seed}"));
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex");
    }
    out
}

fn mark(video: &str, who: &str, at: i64) -> ViewMark {
    ViewMark { video_id: video.to_owned(), viewer: viewer(who), at }
}

async fn views_of(store: &dyn MetaStore, id: &str) -> u64 {
    store.video(id).await.expect("read").expect("exists").views
}

/// Every item of every page of a listing, following its continuations.
async fn all_pages<F, Fut>(mut page: F) -> Vec<String>
where
    F: FnMut(Option<PageToken>) -> Fut,
    Fut: std::future::Future<Output = Result<myvid_store::meta::Page<Video>, StoreError>>,
{
    let mut found = Vec::new();
    let mut start = None;
    for _ in 0..10_000 {
        let listed = page(start).await.expect("list");
        found.extend(listed.items.iter().map(|v| v.id.clone()));
        match listed.next {
            Some(next) => start = Some(next),
            None => return found,
        }
    }
    panic!("paging does not end");
}

/// An unlisted video is a published one that plays by its link but is never listed:
/// not in search, the public, popular, live or channel listings, nor among the videos
/// watched together; fetched by id it says unlisted. A staged upload cannot be unlisted.
pub async fn unlisted_is_fetchable_but_never_listed(store: &dyn MetaStore) {
    let owner = user(store, "unlister").await;
    store.create_video(stored("unl-1", Some(owner.id), "Kinkajou secret", "", Visibility::Public)).await.unwrap();
    store.create_video(stored("unl-2", Some(owner.id), "Kinkajou open", "", Visibility::Public)).await.unwrap();
    let change = VideoChange { visibility: Some(Visibility::Unlisted), ..VideoChange::default() };
    let unlisted = store.update_video("unl-1", owner.id, &change, NOW + 5).await.expect("unlist");
    assert_eq!(unlisted.visibility, Visibility::Unlisted);
    assert_eq!(store.video("unl-1").await.unwrap().unwrap().visibility, Visibility::Unlisted);

    assert_eq!(search_all(store, "kinkajou", 10).await, vec!["unl-2".to_owned()], "search");
    let listed = list_public_all(store, 50).await;
    assert!(!listed.contains(&"unl-1".to_owned()) && listed.contains(&"unl-2".to_owned()), "public listing");
    let popular = all_pages(|start| store.list_popular(50, start)).await;
    assert!(!popular.contains(&"unl-1".to_owned()) && popular.contains(&"unl-2".to_owned()), "popular");
    let channel = all_pages(|start| store.list_public_by_owner(owner.id, 10, start)).await;
    assert_eq!(channel, vec!["unl-2".to_owned()], "channel");
    assert!(!all_pages(|start| store.list_live(50, start)).await.contains(&"unl-1".to_owned()), "live");
    let random = store.random_public(1_000).await.unwrap();
    assert!(!ids(&random).contains(&"unl-1"), "random picks");
    // Watched together many times, still not recommended.
    for n in 0..3 {
        let who = format!("unl-viewer-{n}");
        store
            .count_views(&[mark("unl-2", &who, NOW + 10), mark("unl-1", &who, NOW + 11)], 3600, NOW + 12)
            .await
            .unwrap();
    }
    assert!(store.co_watched("unl-2", 1, 10).await.unwrap().is_empty(), "co-watch leaves unlisted out");
    assert_eq!(views_of(store, "unl-1").await, 3, "an unlisted video counts its views");

    // A staged upload cannot be made watchable by link (it has nothing to play yet).
    store.create_video(stored("unl-3", Some(owner.id), "Kinkajou staged", "", Visibility::Private)).await.unwrap();
    assert_conflict(store.update_video("unl-3", owner.id, &change, NOW).await, "visibility");
}

/// An edit changes the words search finds at once, and keeps what it does not name.
pub async fn editing_keeps_search_in_step(store: &dyn MetaStore) {
    let owner = user(store, "editor").await;
    store
        .create_video(stored("edit-1", Some(owner.id), "Zorillo bath", "warm geyserfields", Visibility::Public))
        .await
        .unwrap();
    let change = VideoChange { title: Some("Tuatara smile".to_owned()), ..VideoChange::default() };
    let edited = store.update_video("edit-1", owner.id, &change, NOW + 1).await.expect("edit");
    assert_eq!((edited.title.as_str(), edited.description.as_str()), ("Tuatara smile", "warm geyserfields"));
    assert_eq!(edited.visibility, Visibility::Public, "visibility kept");
    assert_eq!(search_all(store, "tuatara", 10).await, vec!["edit-1".to_owned()], "found by its new title");
    assert!(search_all(store, "zorillo", 10).await.is_empty(), "no longer by its old one");
    assert_eq!(search_all(store, "geyserfields", 10).await, vec!["edit-1".to_owned()], "the description still counts");

    let change = VideoChange {
        description: Some(String::new()),
        visibility: Some(Visibility::Private),
        ..VideoChange::default()
    };
    let private = store.update_video("edit-1", owner.id, &change, NOW + 2).await.expect("make private");
    assert_eq!((private.visibility, private.description.as_str()), (Visibility::Private, ""));
    assert!(search_all(store, "tuatara", 10).await.is_empty(), "private is not found");

    // Only the owner edits; an unknown id or someone else's video is not found.
    let other = user(store, "not-editor").await;
    assert!(matches!(store.update_video("edit-1", other.id, &change, NOW).await, Err(StoreError::NotFound)));
    assert!(matches!(store.update_video("edit-none", owner.id, &change, NOW).await, Err(StoreError::NotFound)));
}

/// A live stream's visibility follows its life, and a staged upload's its publication:
/// an edit that would change either is refused with nothing changed. Their words can
/// still be edited; a published video made public again keeps its first publication.
pub async fn visibility_follows_the_life_of_uploads_and_streams(store: &dyn MetaStore) {
    let owner = user(store, "lifer").await;
    store.create_video(stream_record(&owner, "life-1", "Pelican live")).await.unwrap();
    store.set_live_state("life-1", LiveState::Live, None, NOW + 1).await.unwrap();
    let private = VideoChange { visibility: Some(Visibility::Private), ..VideoChange::default() };
    assert_conflict(store.update_video("life-1", owner.id, &private, NOW + 2).await, "visibility");
    let retitle = VideoChange { title: Some("Pelican live again".to_owned()), ..VideoChange::default() };
    assert_eq!(store.update_video("life-1", owner.id, &retitle, NOW + 3).await.unwrap().title, "Pelican live again");
    assert_eq!(store.video("life-1").await.unwrap().unwrap().visibility, Visibility::Public, "still live");
    store.set_live_state("life-1", LiveState::Ended, None, NOW + 4).await.unwrap();

    store.create_video(stored("life-2", Some(owner.id), "Pelican upload", "", Visibility::Private)).await.unwrap();
    let public = VideoChange { visibility: Some(Visibility::Public), ..VideoChange::default() };
    assert_conflict(store.update_video("life-2", owner.id, &public, NOW + 5).await, "visibility");
    let published = store.publish_video("life-2", &media("life-2", 1_000), NOW + 6).await.unwrap();
    store.update_video("life-2", owner.id, &private, NOW + 7).await.expect("published → private");
    let again = store.update_video("life-2", owner.id, &public, NOW + 8).await.expect("private → public");
    assert_eq!(again.published_at, published.published_at, "first publication kept");
}

/// Deleting a video removes its row, search entry, counts and transcode job in one
/// go and queues one purge job for its objects; deleting again is not found, and a
/// stream cannot be deleted while it is live.
pub async fn deleting_removes_row_search_and_queues_a_purge(store: &dyn MetaStore) {
    let owner = user(store, "deleter").await;
    let video =
        store.create_video(stored("del-1", Some(owner.id), "Solenodon goodbye", "", Visibility::Public)).await.unwrap();
    store.create_video(stored("del-2", Some(owner.id), "Solenodon stays", "", Visibility::Public)).await.unwrap();
    store.enqueue_transcode(new_job(&video, NOW, 3)).await.expect("enqueue");
    store.count_views(&[mark("del-1", "d1", NOW), mark("del-2", "d1", NOW + 1)], 3600, NOW + 2).await.unwrap();
    store.count_views(&[mark("del-1", "d2", NOW), mark("del-2", "d2", NOW + 1)], 3600, NOW + 2).await.unwrap();
    assert_eq!(store.co_watched("del-2", 1, 10).await.map(|v| ids(&v).join(",")).unwrap(), "del-1");

    let other = user(store, "not-deleter").await;
    assert!(matches!(store.delete_video("del-1", other.id, &purge("del-x", NOW)).await, Err(StoreError::NotFound)));
    store.delete_video("del-1", owner.id, &purge("del-1", NOW + 10)).await.expect("delete");
    assert_eq!(store.video("del-1").await.unwrap(), None, "row gone");
    assert_eq!(search_all(store, "solenodon", 10).await, vec!["del-2".to_owned()], "search entry gone");
    assert_eq!(store.transcode_job("del-1").await.unwrap(), None, "transcode job gone");
    assert!(store.co_watched("del-2", 1, 10).await.unwrap().is_empty(), "co-watch pairs gone");
    assert!(matches!(store.delete_video("del-1", owner.id, &purge("del-1b", NOW)).await, Err(StoreError::NotFound)));

    let t = NOW + 20;
    let claimed = store.claim_job(&[JobKind::Purge], "p1", &token("del-claim"), t, t + 30).await.unwrap();
    let claimed = claimed.expect("one purge job queued");
    assert_eq!((claimed.kind, claimed.video_id.as_str()), (JobKind::Purge, "del-1"));
    assert!(store.claim_job(&[JobKind::Purge], "p2", &token("del-claim-2"), t, t + 30).await.unwrap().is_none());
    assert!(store.complete_purge(&claimed.id, &token("del-claim"), t + 1).await.unwrap());

    // A live stream must end first; once it has, it can go.
    store.create_video(stream_record(&owner, "del-3", "Solenodon live")).await.unwrap();
    store.set_live_state("del-3", LiveState::Live, None, NOW + 30).await.unwrap();
    assert_conflict(store.delete_video("del-3", owner.id, &purge("del-3", NOW + 31)).await, "live");
    assert!(store.video("del-3").await.unwrap().is_some(), "still there");
    store.set_live_state("del-3", LiveState::Ended, None, NOW + 32).await.unwrap();
    store.delete_video("del-3", owner.id, &purge("del-3", NOW + 33)).await.expect("an ended stream goes");
    drain(store).await;
}

/// Purge jobs are claimed only by claimers that ask for purges (and transcode claimers
/// never get them), complete once under their claim, and a repeated completion is
/// still a success while a lost claim's is not.
pub async fn purge_jobs_outlive_their_video(store: &dyn MetaStore) {
    let owner = user(store, "purger").await;
    let t = NOW + 50_000;
    let kept = store.create_video(stored("pur-1", Some(owner.id), "Kept", "", Visibility::Public)).await.unwrap();
    store.enqueue_transcode(new_job(&kept, t, 3)).await.unwrap();
    store.create_video(stored("pur-2", Some(owner.id), "Gone", "", Visibility::Public)).await.unwrap();
    store.delete_video("pur-2", owner.id, &purge("pur-2", t)).await.unwrap();

    let transcode = store.claim_job(&[JobKind::Transcode], "w", &token("pur-t"), t, t + 30).await.unwrap();
    assert_eq!(transcode.map(|j| (j.kind, j.video_id)), Some((JobKind::Transcode, "pur-1".to_owned())));
    assert!(store.claim_job(&[JobKind::Transcode], "w", &token("pur-t2"), t, t + 30).await.unwrap().is_none());
    let job = store.claim_job(&[JobKind::Purge], "p", &token("pur-p"), t, t + 30).await.unwrap().expect("purge");
    assert_eq!((job.kind, job.video_id.as_str(), job.input_key.as_str()), (JobKind::Purge, "pur-2", "pur-2"));
    assert!(!store.complete_purge(&job.id, &token("someone-else"), t + 1).await.unwrap(), "not their claim");
    assert!(store.complete_purge(&job.id, &token("pur-p"), t + 1).await.unwrap());
    assert!(store.complete_purge(&job.id, &token("pur-p"), t + 2).await.unwrap(), "repeating is fine");
    assert!(store.claim_job(&[JobKind::Purge], "p", &token("pur-p2"), FAR, FAR + 30).await.unwrap().is_none(), "done");
    assert!(store.claim_job(&[], "p", &token("pur-none"), FAR, FAR + 30).await.unwrap().is_none(), "no kinds, no job");
    drain(store).await;
}

/// Following is idempotent and counted; following oneself or nobody is refused;
/// `followers_among` picks the followers out of a crowd.
pub async fn follows_are_idempotent_and_counted(store: &dyn MetaStore) {
    let star = user(store, "fol-star").await;
    let fans = [user(store, "fol-a").await, user(store, "fol-b").await, user(store, "fol-c").await];
    assert!(store.follow(fans[0].id, star.id, NOW).await.unwrap(), "new");
    assert!(!store.follow(fans[0].id, star.id, NOW + 1).await.unwrap(), "again: not new");
    assert!(store.follow(fans[1].id, star.id, NOW + 2).await.unwrap());
    assert_eq!(store.follow_state(Some(fans[0].id), star.id).await.unwrap(), (2, true));
    assert_eq!(store.follow_state(Some(fans[2].id), star.id).await.unwrap(), (2, false));
    assert_eq!(store.follow_state(None, star.id).await.unwrap(), (2, false));
    assert_conflict(store.follow(star.id, star.id, NOW).await, "self");
    assert!(matches!(store.follow(star.id, i64::from(i32::MAX) - 7, NOW).await, Err(StoreError::NotFound)));

    let crowd: Vec<i64> = fans.iter().map(|f| f.id).chain([star.id, -1]).collect();
    let mut among = store.followers_among(star.id, &crowd).await.unwrap();
    among.sort_unstable();
    let mut expected = vec![fans[0].id, fans[1].id];
    expected.sort_unstable();
    assert_eq!(among, expected);
    assert!(store.followers_among(star.id, &[]).await.unwrap().is_empty());

    assert!(store.unfollow(fans[0].id, star.id).await.unwrap());
    assert!(!store.unfollow(fans[0].id, star.id).await.unwrap(), "already not following");
    assert_eq!(store.follow_state(Some(fans[0].id), star.id).await.unwrap(), (1, false));
    let by_name = store.user_by_name("FOL-STAR").await.unwrap().expect("found case-insensitively");
    assert_eq!(by_name.id, star.id);
    assert_eq!(store.user_by_name("fol-nobody").await.unwrap(), None);
}

/// The "Following" list shows channels live now first (with their stream), then the
/// most recently followed, in pages.
pub async fn following_lists_live_channels_first(store: &dyn MetaStore) {
    let fan = user(store, "fl-fan").await;
    let channels = [user(store, "fl-one").await, user(store, "fl-two").await, user(store, "fl-three").await];
    for (i, channel) in channels.iter().enumerate() {
        store.follow(fan.id, channel.id, NOW + i as i64).await.unwrap();
    }
    store.create_video(stream_record(&channels[0], "fl-live", "Otter live")).await.unwrap();
    store.set_live_state("fl-live", LiveState::Live, None, NOW + 10).await.unwrap();

    let mut names = Vec::new();
    let mut start = None;
    loop {
        let page = store.following(fan.id, 2, start).await.unwrap();
        assert!(page.items.len() <= 2);
        for followed in &page.items {
            let live = followed.live.as_ref().map(|v| v.id.as_str());
            names.push((followed.user.username.clone(), live.map(str::to_owned)));
        }
        match page.next {
            Some(next) => start = Some(next),
            None => break,
        }
    }
    assert_eq!(
        names,
        vec![
            ("fl-one".to_owned(), Some("fl-live".to_owned())),
            ("fl-three".to_owned(), None),
            ("fl-two".to_owned(), None),
        ]
    );
    let live = all_pages(|start| store.list_live(50, start)).await;
    assert!(live.contains(&"fl-live".to_owned()), "listed as live");
    let owners_live = store.live_by_owner(channels[0].id).await.unwrap().map(|v| v.id);
    assert_eq!(owners_live.as_deref(), Some("fl-live"), "the channel's live stream");
    assert_eq!(store.live_by_owner(channels[1].id).await.unwrap(), None, "nobody else's");
    store.set_live_state("fl-live", LiveState::Ended, None, NOW + 20).await.unwrap();
    assert!(!all_pages(|start| store.list_live(50, start)).await.contains(&"fl-live".to_owned()), "ended");
    assert_eq!(store.live_by_owner(channels[0].id).await.unwrap(), None, "no longer live");
    let page = store.following(fan.id, 10, None).await.unwrap();
    assert!(page.items.iter().all(|f| f.live.is_none()), "nobody live any more");
}

/// A view counts once per viewer per video in a sliding window: again within it,
/// nothing; a window after the last count, once more. Private videos count nothing,
/// nor do videos that do not exist.
pub async fn views_count_once_per_viewer_per_sliding_hour(store: &dyn MetaStore) {
    let owner = user(store, "counted").await;
    public(store, "view-1", "Counted once", "").await;
    let t = NOW + 1_000;
    assert_eq!(store.count_views(&[mark("view-1", "a", t)], 3600, t).await.unwrap(), 1);
    assert_eq!(store.count_views(&[mark("view-1", "a", t + 10)], 3600, t + 10).await.unwrap(), 0, "a reload");
    assert_eq!(store.count_views(&[mark("view-1", "a", t + 3599)], 3600, t + 3599).await.unwrap(), 0);
    assert_eq!(store.count_views(&[mark("view-1", "a", t + 3600)], 3600, t + 3600).await.unwrap(), 1, "an hour on");
    let batch = [mark("view-1", "b", t), mark("view-1", "b", t + 5), mark("view-1", "c", t + 6)];
    assert_eq!(store.count_views(&batch, 3600, t + 6).await.unwrap(), 2, "one each in a batch");
    assert_eq!(views_of(store, "view-1").await, 4);

    store.create_video(stored("view-2", Some(owner.id), "Private", "", Visibility::Private)).await.unwrap();
    assert_eq!(store.count_views(&[mark("view-2", "a", t)], 3600, t).await.unwrap(), 0, "private");
    assert_eq!(views_of(store, "view-2").await, 0);
    assert_eq!(store.count_views(&[mark("view-nope", "a", t)], 3600, t).await.unwrap(), 0, "absent");
    assert_eq!(store.count_views(&[], 3600, t).await.unwrap(), 0);

    // Marks older than the window are pruned; the count stays.
    let pruned = store.prune_view_marks(t + 1, 10_000).await.unwrap();
    assert!(pruned >= 1, "pruned {pruned}");
    assert_eq!(views_of(store, "view-1").await, 4);
}

/// Counting the same batch again (a flush retried after an unknown outcome) counts
/// nothing twice.
pub async fn a_retried_flush_counts_nothing_twice(store: &dyn MetaStore) {
    public(store, "retry-1", "Retried", "").await;
    public(store, "retry-2", "Retried too", "").await;
    let t = NOW + 2_000;
    let batch: Vec<ViewMark> =
        (0..20).map(|n| mark(if n % 2 == 0 { "retry-1" } else { "retry-2" }, &format!("r{n}"), t + n)).collect();
    assert_eq!(store.count_views(&batch, 3600, t + 30).await.unwrap(), 20);
    assert_eq!(store.count_views(&batch, 3600, t + 30).await.unwrap(), 0, "the same batch again");
    assert_eq!((views_of(store, "retry-1").await, views_of(store, "retry-2").await), (10, 10));
}

/// Co-watch pairs are symmetric, counted per viewer, and one view pairs with at most
/// ten of the viewer's recent others.
pub async fn co_watch_pairs_are_symmetric_and_capped(store: &dyn MetaStore) {
    for id in ["cw-a", "cw-b", "cw-c"] {
        public(store, id, "Co-watched", "").await;
    }
    let t = NOW + 3_000;
    store.count_views(&[mark("cw-a", "v1", t), mark("cw-b", "v1", t + 60)], 3600, t + 60).await.unwrap();
    let pair = |id: &'static str| async move { ids(&store.co_watched(id, 1, 10).await.unwrap()).join(",") };
    assert_eq!((pair("cw-a").await, pair("cw-b").await), ("cw-b".to_owned(), "cw-a".to_owned()));
    assert!(store.co_watched("cw-a", 2, 10).await.unwrap().is_empty(), "watched together once so far");
    store
        .count_views(&[mark("cw-a", "v2", t), mark("cw-b", "v2", t + 1), mark("cw-c", "v2", t + 2)], 3600, t + 2)
        .await
        .unwrap();
    assert_eq!(pair("cw-a").await, "cw-b,cw-c", "most often first");
    assert_eq!(ids(&store.co_watched("cw-a", 2, 10).await.unwrap()), vec!["cw-b"]);
    assert_eq!(pair("cw-c").await.split(',').count(), 2);

    // One viewer watching thirty videos adds at most ten pairs per view.
    let many: Vec<String> = (0..30).map(|n| format!("cw-many-{n:02}")).collect();
    for id in &many {
        public(store, id, "Binge", "").await;
    }
    let binge: Vec<ViewMark> = many.iter().enumerate().map(|(n, id)| mark(id, "binger", t + n as i64)).collect();
    store.count_views(&binge, 3600, t + 40).await.unwrap();
    let last = store.co_watched("cw-many-29", 1, 100).await.unwrap();
    assert_eq!(last.len(), 10, "the last view paired with the ten before it");
    let first = store.co_watched("cw-many-00", 1, 100).await.unwrap();
    assert!(first.len() <= 10, "and each video's pairs stay few: {}", first.len());
    // Pairs need both videos: a pair with a private video is never recommended.
    let listed: Vec<String> = store.co_watched("cw-many-29", 1, 100).await.unwrap().into_iter().map(|v| v.id).collect();
    assert!(listed.iter().all(|id| id.starts_with("cw-many-")));
}

/// A channel lists its owner's public videos only, newest first; popular lists
/// public videos by views, most first, in pages that visit each once.
pub async fn channels_list_public_videos_and_popular_orders_by_views(store: &dyn MetaStore) {
    let owner = user(store, "chan-owner").await;
    for (n, visibility) in [Visibility::Public, Visibility::Private, Visibility::Public].into_iter().enumerate() {
        let mut video = stored(&format!("chan-{n}"), Some(owner.id), "Channel", "", visibility);
        video.created_at = NOW + n as i64;
        store.create_video(video).await.unwrap();
    }
    let channel = all_pages(|start| store.list_public_by_owner(owner.id, 1, start)).await;
    assert_eq!(channel, vec!["chan-2".to_owned(), "chan-0".to_owned()], "public only, newest first");

    let t = NOW + 4_000;
    for (id, viewers) in [("chan-0", 5), ("chan-2", 7)] {
        let marks: Vec<ViewMark> = (0..viewers).map(|n| mark(id, &format!("pop-{n}"), t)).collect();
        store.count_views(&marks, 3600, t).await.unwrap();
    }
    let popular = all_pages(|start| store.list_popular(3, start)).await;
    let unique: std::collections::HashSet<&String> = popular.iter().collect();
    assert_eq!(unique.len(), popular.len(), "each once");
    let position = |id: &str| popular.iter().position(|p| p == id).expect("listed");
    assert!(position("chan-2") < position("chan-0"), "7 views before 5");
    assert!(!popular.contains(&"chan-1".to_owned()), "private is not popular");
    let first = store.list_popular(1, None).await.unwrap();
    assert!(first.items[0].views >= 7, "the most viewed comes first");
    assert!(matches!(first.next, Some(PageToken::Offset(1))));
}
