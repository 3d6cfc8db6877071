//! The `MetaStore` conformance suite: every backend must pass it.
//!
//! Each check takes `&dyn MetaStore` and uses names and search words of its own, so
//! the checks can run on fresh stores or all on one shared store ([`run_all`]).

use std::collections::HashSet;

use myvid_store::StoreError;
use myvid_store::meta::{
    LiveState, MetaStore, NewUser, NewVideo, PageToken, PublishedMedia, ServerEntry, ServerKind, User, Video,
    VideoSource, Visibility,
};

mod jobs;
mod social;
pub use jobs::*;
pub use social::*;

/// The fixed "current time" of the suite.
pub const NOW: i64 = 1_700_000_000;

/// Calls `$then!(args…, check, check, …)` with the name of every check of the suite, so
/// that every backend's test file runs them all and a new check cannot be left out.
macro_rules! every_check {
    ($then:ident $(, $arg:expr)*) => {
        $then! {
            $($arg,)*
            users_are_unique_case_insensitively,
            credentials_by_username_or_email,
            sessions_live_expire_and_end,
            videos_are_unique_by_id,
            private_videos_are_hidden_until_published,
            publishing_an_unknown_video_is_not_found,
            publishing_again_never_changes_published_media,
            search_ranks_title_above_description,
            search_ranks_more_matching_words_higher,
            search_matches_prefixes_case_insensitively,
            hostile_queries_never_fail,
            search_pages_visit_every_match_once,
            list_pages_visit_every_item_once,
            import_skips_existing_ids,
            owner_listing_includes_private_videos,
            live_streams_are_listed_only_while_live,
            an_ended_stream_cannot_go_live_again,
            server_registry_tracks_heartbeats,
            streams_of_a_vanished_media_server_are_ended,
            recording_segments_only_grow_and_only_for_live_streams,
            ended_streams_keep_their_recording_segments,
            only_ended_recordings_with_segments_are_claimed,
            a_recording_claim_is_exclusive_renewable_and_expires,
            racing_claimers_exactly_one_wins,
            unfinished_recordings_are_the_ended_unclaimed_ones,
            a_published_recording_is_a_public_stored_video,
            only_ended_streams_with_segments_publish_a_recording,
            a_dropped_recording_is_no_longer_unfinished,
            a_stream_keeps_its_recording_choice,
            enqueueing_a_transcode_marks_the_video_processing_once,
            claims_take_due_jobs_oldest_first,
            racing_claimers_never_share_a_job,
            a_lease_is_renewed_only_by_its_holder_and_expires,
            failures_back_off_then_dead_letter_with_the_reason,
            an_expired_lease_on_the_last_attempt_is_dead_lettered,
            completing_a_transcode_switches_the_video_once,
            release_does_not_count_an_attempt,
            unlisted_is_fetchable_but_never_listed,
            editing_keeps_search_in_step,
            visibility_follows_the_life_of_uploads_and_streams,
            deleting_removes_row_search_and_queues_a_purge,
            purge_jobs_outlive_their_video,
            follows_are_idempotent_and_counted,
            following_lists_live_channels_first,
            views_count_once_per_viewer_per_sliding_hour,
            a_retried_flush_counts_nothing_twice,
            co_watch_pairs_are_symmetric_and_capped,
            channels_list_public_videos_and_popular_orders_by_views,
        }
    };
}
#[allow(unused_imports)]
pub(crate) use every_check;

/// Runs every check on one store.
pub async fn run_all(store: &dyn MetaStore) {
    macro_rules! in_turn {
        ($($check:ident),* $(,)?) => { $( $check(store).await; )* };
    }
    every_check!(in_turn);
}

/// Creates an account named `name` with e-mail `name@example.com`.
pub async fn user(store: &dyn MetaStore, name: &str) -> User {
    store
        .create_user(NewUser {
            username: name.to_owned(),
            email: format!("{name}@example.com"),
            password_hash: format!("$argon2id$hash-of-{name}"),
            created_at: NOW,
        })
        .await
        .expect("create user")
}

/// A new uploaded video: staged while private, stored (published) when public.
pub fn stored(id: &str, owner: Option<i64>, title: &str, description: &str, visibility: Visibility) -> NewVideo {
    let source = match visibility {
        Visibility::Private => {
            VideoSource::Staged { video_key: format!("{id}/video"), preview_key: format!("{id}/preview") }
        }
        Visibility::Public | Visibility::Unlisted => {
            VideoSource::Stored { video_key: format!("{id}/v1.webm"), preview_key: format!("{id}/v1.jpg") }
        }
    };
    NewVideo {
        id: id.to_owned(),
        owner_id: owner,
        title: title.to_owned(),
        description: description.to_owned(),
        source,
        visibility,
        duration_ms: None,
        created_at: NOW,
    }
}

/// The media a staged upload `id` is published with.
pub fn media(id: &str, duration_ms: i64) -> PublishedMedia {
    PublishedMedia { video_key: format!("{id}/n1.mp4"), preview_key: format!("{id}/n1.jpg"), duration_ms }
}

/// A new external (imported) public video.
pub fn external(id: &str, title: &str) -> NewVideo {
    NewVideo {
        id: id.to_owned(),
        owner_id: None,
        title: title.to_owned(),
        description: String::new(),
        source: VideoSource::External { url: format!("https://media.example/{id}.mp4"), preview_url: None },
        visibility: Visibility::Public,
        duration_ms: Some(1_000),
        created_at: NOW,
    }
}

/// Creates a public stored video.
pub async fn public(store: &dyn MetaStore, id: &str, title: &str, description: &str) -> Video {
    store.create_video(stored(id, None, title, description, Visibility::Public)).await.expect("create video")
}

/// The ids of a page's videos.
pub fn ids(videos: &[Video]) -> Vec<&str> {
    videos.iter().map(|v| v.id.as_str()).collect()
}

/// All ids a search returns, following pages of `limit`.
pub async fn search_all(store: &dyn MetaStore, query: &str, limit: u32) -> Vec<String> {
    let mut found = Vec::new();
    let mut start = None;
    for _ in 0..1000 {
        let page = store.search_public(query, limit, start).await.expect("search");
        assert!(page.items.len() <= limit as usize);
        found.extend(page.items.iter().map(|v| v.id.clone()));
        match page.next {
            Some(next) => {
                assert!(!page.items.is_empty(), "a page with a continuation is not empty");
                assert!(matches!(next, PageToken::Offset(_)), "search continues by offset");
                start = Some(next);
            }
            None => return found,
        }
    }
    panic!("search paging does not end");
}

/// Asserts `err` is `Conflict(column)`.
pub fn assert_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>, column: &str) {
    match result {
        Err(StoreError::Conflict(c)) => assert_eq!(c, column),
        other => panic!("expected Conflict({column:?}), got {other:?}"),
    }
}

/// Usernames and e-mails are unique regardless of case, and the conflict names the column.
pub async fn users_are_unique_case_insensitively(store: &dyn MetaStore) {
    let alice = user(store, "Alice").await;
    assert_eq!(alice.username, "Alice");
    assert_eq!(alice.email, "Alice@example.com");
    assert_eq!(alice.created_at, NOW);
    let new = |username: &str, email: &str| NewUser {
        username: username.to_owned(),
        email: email.to_owned(),
        password_hash: "h".to_owned(),
        created_at: NOW,
    };
    assert_conflict(store.create_user(new("ALICE", "other@example.com")).await, "username");
    assert_conflict(store.create_user(new("alice2", "alice@EXAMPLE.com")).await, "email");
    let alice2 = store.create_user(new("alice2", "alice2@example.com")).await.expect("distinct user");
    assert_ne!(alice.id, alice2.id);
}

/// Log-in lookups work by username or e-mail, in any case, and return the hash.
pub async fn credentials_by_username_or_email(store: &dyn MetaStore) {
    let bob = user(store, "Bob").await;
    for credential in ["Bob", "bob", "BOB", "bob@example.com", "Bob@Example.COM"] {
        let found = store.user_credentials(credential).await.unwrap().unwrap_or_else(|| panic!("{credential}"));
        assert_eq!(found.user, bob);
        assert_eq!(found.password_hash, "$argon2id$hash-of-Bob");
    }
    assert!(store.user_credentials("nobody").await.unwrap().is_none());
    assert!(store.user_credentials("bo").await.unwrap().is_none());
    assert!(store.user_credentials("").await.unwrap().is_none());
}

/// A session resolves to its user until it expires or is deleted.
pub async fn sessions_live_expire_and_end(store: &dyn MetaStore) {
    let carol = user(store, "carol").await;
    let token = "c".repeat(64);
    store.create_session(&token, carol.id, NOW + 60).await.unwrap();
    assert_eq!(store.session_user(&token, NOW).await.unwrap(), Some(carol.clone()));
    assert_eq!(store.session_user(&token, NOW + 59).await.unwrap(), Some(carol.clone()));
    assert_eq!(store.session_user(&token, NOW + 60).await.unwrap(), None, "expired at expires_at");
    assert_eq!(store.session_user(&token, NOW + 61).await.unwrap(), None);
    assert_eq!(store.session_user(&"d".repeat(64), NOW).await.unwrap(), None);

    let other = "e".repeat(64);
    store.create_session(&other, carol.id, NOW + 60).await.unwrap();
    store.delete_session(&token).await.unwrap();
    assert_eq!(store.session_user(&token, NOW).await.unwrap(), None);
    store.delete_session(&token).await.expect("deleting twice is fine");
    assert_eq!(store.session_user(&other, NOW).await.unwrap(), Some(carol), "other sessions live on");
}

/// Video ids are unique; a video reads back as created, with its owner's name.
pub async fn videos_are_unique_by_id(store: &dyn MetaStore) {
    let dave = user(store, "dave").await;
    let new = stored("vidDave1", Some(dave.id), "Dave's clip", "about things", Visibility::Private);
    let created = store.create_video(new.clone()).await.unwrap();
    assert_eq!(created.id, "vidDave1");
    assert_eq!(created.owner_id, Some(dave.id));
    assert_eq!(created.owner_name.as_deref(), Some("dave"));
    assert_eq!(created.title, "Dave's clip");
    assert_eq!(created.description, "about things");
    assert_eq!(created.source, new.source);
    assert_eq!(created.visibility, Visibility::Private);
    assert_eq!(created.duration_ms, None);
    assert_eq!(created.created_at, NOW);
    assert_eq!(created.published_at, None);
    assert_eq!(store.video("vidDave1").await.unwrap(), Some(created.clone()));

    let mut again = stored("vidDave1", None, "Another", "", Visibility::Public);
    again.created_at = NOW + 1;
    assert_conflict(store.create_video(again).await, "id");
    assert_eq!(store.video("vidDave1").await.unwrap(), Some(created.clone()), "unchanged by the conflict");

    let ext = store.create_video(external("vidDaveExt", "Imported")).await.unwrap();
    assert_eq!(ext.owner_id, None);
    assert_eq!(ext.owner_name, None);
    assert_eq!(
        ext.source,
        VideoSource::External { url: "https://media.example/vidDaveExt.mp4".to_owned(), preview_url: None }
    );
    assert_eq!(ext.duration_ms, Some(1_000));
    assert_eq!(ext.visibility, Visibility::Public);
    assert!(ext.seq > created.seq, "seq grows with insertion");
    assert_eq!(store.video("vidDaveExt").await.unwrap(), Some(ext));
    assert_eq!(store.video("vidNope").await.unwrap(), None);
}

/// Private videos appear in no public view until published.
pub async fn private_videos_are_hidden_until_published(store: &dyn MetaStore) {
    let erin = user(store, "erin").await;
    let hidden =
        store.create_video(stored("vidErin1", Some(erin.id), "Okapi secrets", "", Visibility::Private)).await.unwrap();
    assert!(search_all(store, "okapi", 10).await.is_empty());
    let listed = list_public_all(store, 50).await;
    assert!(!listed.contains(&hidden.id));
    let random = store.random_public(10_000).await.unwrap();
    assert!(!ids(&random).contains(&"vidErin1"));

    assert!(matches!(hidden.source, VideoSource::Staged { .. }));
    let published = store.publish_video("vidErin1", &media("vidErin1", 4_200), NOW + 5).await.unwrap();
    assert_eq!(published.visibility, Visibility::Public);
    assert_eq!(
        published.source,
        VideoSource::Stored { video_key: "vidErin1/n1.mp4".into(), preview_key: "vidErin1/n1.jpg".into() },
        "the final keys replace the staging keys"
    );
    assert_eq!(published.duration_ms, Some(4_200));
    assert_eq!(published.published_at, Some(NOW + 5));
    assert_eq!(published.owner_name.as_deref(), Some("erin"));
    assert_eq!(store.video("vidErin1").await.unwrap(), Some(published.clone()));
    assert_eq!(search_all(store, "okapi", 10).await, ["vidErin1"]);
    assert!(list_public_all(store, 50).await.contains(&hidden.id));
    let random = store.random_public(10_000).await.unwrap();
    assert!(ids(&random).contains(&"vidErin1"));
    assert!(random.iter().all(|v| v.visibility == Visibility::Public));
}

/// Publishing a video that does not exist is `NotFound`.
pub async fn publishing_an_unknown_video_is_not_found(store: &dyn MetaStore) {
    match store.publish_video("vidMissing", &media("vidMissing", 1), NOW).await {
        Err(StoreError::NotFound) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
}

/// Once published, a video's media never changes: publishing again (another request
/// that raced this one, or a replay) is `NotFound` and leaves it as it was.
pub async fn publishing_again_never_changes_published_media(store: &dyn MetaStore) {
    store.create_video(stored("vidOnce", None, "Once", "", Visibility::Private)).await.unwrap();
    let first = store.publish_video("vidOnce", &media("vidOnce", 1_500), NOW).await.unwrap();
    let other =
        PublishedMedia { video_key: "vidOnce/n2.mp4".into(), preview_key: "vidOnce/n2.jpg".into(), duration_ms: 9 };
    assert!(matches!(store.publish_video("vidOnce", &other, NOW + 100).await, Err(StoreError::NotFound)));
    assert_eq!(store.video("vidOnce").await.unwrap(), Some(first));
}

/// A match in the title ranks above a match in the description only.
pub async fn search_ranks_title_above_description(store: &dyn MetaStore) {
    // The description-only match is short and dense, the title match long: only the
    // title's weight puts the title match first.
    public(store, "vidQuokkaD", "Holiday", "quokka").await;
    public(store, "vidQuokkaT", "A quokka on the beach at sunset with all of our friends", "clip").await;
    assert_eq!(search_all(store, "quokka", 10).await, ["vidQuokkaT", "vidQuokkaD"]);
}

/// A video matching two of the query's words ranks above one matching one word.
pub async fn search_ranks_more_matching_words_higher(store: &dyn MetaStore) {
    public(store, "vidWombat1", "Wombat party", "in the garden").await;
    public(store, "vidWombat2", "Wombat dance", "in the garden").await;
    public(store, "vidWombat3", "Tango lesson", "in the garden").await;
    assert_eq!(search_all(store, "wombat tango", 10).await.len(), 3, "any word may match");
    assert_eq!(search_all(store, "dance wombat", 10).await[0], "vidWombat2");
    assert_eq!(search_all(store, "wombat PARTY", 10).await[0], "vidWombat1");
}

/// Words match as prefixes, in any case.
pub async fn search_matches_prefixes_case_insensitively(store: &dyn MetaStore) {
    public(store, "vidConf1", "Zeitgeist Conference 2024", "keynote").await;
    for query in ["confer", "CONFERENCE", "Zeitg", "zeitgeist conf", "keyn"] {
        assert_eq!(search_all(store, query, 10).await, ["vidConf1"], "{query:?}");
    }
    assert!(search_all(store, "conferences", 10).await.is_empty(), "longer words do not match");
}

/// Queries full of FTS syntax are taken as plain words and never fail.
pub async fn hostile_queries_never_fail(store: &dyn MetaStore) {
    public(store, "vidHostile", "Marmoset AND Capybara", "NEAR the river").await;
    let hostile = [
        "",
        " ",
        "\"",
        "\"\"",
        "'",
        "AND (",
        "OR",
        "NOT",
        "*",
        "NEAR(",
        "NEAR(a b, 2)",
        "(",
        ")",
        "^",
        ":",
        "-",
        "+",
        "{}",
        "title:",
        "title:x",
        "\"unterminated",
        "a\"b",
        "%",
        "\\",
        "\0",
        ".,;!?",
        "—…",
        "🦀",
        "marmoset*",
        "marmoset AND",
        "(marmoset",
        "\"capybara\"",
        "col:capybara",
        "marmoset NOT capybara",
    ];
    for query in hostile {
        let page = store.search_public(query, 10, None).await.unwrap_or_else(|e| panic!("{query:?}: {e}"));
        if !query.chars().any(char::is_alphanumeric) {
            assert!(page.items.is_empty(), "{query:?} has no words and finds nothing");
            assert!(page.next.is_none());
        }
    }
    for query in ["marmoset*", "(marmoset", "\"capybara\"", "col:capybara", "marmoset NOT capybara"] {
        assert!(search_all(store, query, 10).await.contains(&"vidHostile".to_owned()), "{query:?}");
    }
}

/// Offset paging of a search returns each match exactly once.
pub async fn search_pages_visit_every_match_once(store: &dyn MetaStore) {
    let mut expected = HashSet::new();
    for i in 0..23 {
        let id = format!("vidPangolin{i:02}");
        let title = if i % 3 == 0 { "Pangolin parade" } else { "Some parade" };
        public(store, &id, title, "a pangolin appears").await;
        expected.insert(id);
    }
    store.create_video(stored("vidPangolinX", None, "Pangolin", "", Visibility::Private)).await.unwrap();
    for limit in [1, 5, 7, 23, 100] {
        let found = search_all(store, "pangolin", limit).await;
        let unique: HashSet<String> = found.iter().cloned().collect();
        assert_eq!(found.len(), unique.len(), "no duplicates with limit {limit}");
        assert_eq!(unique, expected, "every match once with limit {limit}");
    }
    let first = store.search_public("pangolin", 23, None).await.unwrap();
    assert_eq!(first.items.len(), 23);
    assert!(first.next.is_none(), "an exactly full last page has no continuation");
}

/// All public video ids, following `list_public` pages of `limit`; checks the order.
pub async fn list_public_all(store: &dyn MetaStore, limit: u32) -> Vec<String> {
    let mut found = Vec::new();
    let mut last_seq = i64::MAX;
    let mut start = None;
    for _ in 0..10_000 {
        let page = store.list_public(limit, start).await.expect("list");
        assert!(page.items.len() <= limit as usize);
        for v in &page.items {
            assert_eq!(v.visibility, Visibility::Public);
            assert!(v.seq < last_seq, "newest first, strictly");
            last_seq = v.seq;
            found.push(v.id.clone());
        }
        match page.next {
            Some(next) => {
                assert!(matches!(next, PageToken::Before(_)), "listings continue by seq");
                start = Some(next);
            }
            None => return found,
        }
    }
    panic!("list paging does not end");
}

/// Keyset paging of the public listing returns each public video exactly once.
pub async fn list_pages_visit_every_item_once(store: &dyn MetaStore) {
    let mut created = Vec::new();
    for i in 0..11 {
        let visibility = if i % 4 == 0 { Visibility::Private } else { Visibility::Public };
        let v = store.create_video(stored(&format!("vidList{i:02}"), None, "List", "", visibility)).await.unwrap();
        created.push(v);
    }
    for limit in [1, 3, 8, 1000] {
        let found = list_public_all(store, limit).await;
        let unique: HashSet<&String> = found.iter().collect();
        assert_eq!(found.len(), unique.len(), "no duplicates with limit {limit}");
        for v in &created {
            let n = found.iter().filter(|id| **id == v.id).count();
            let want = usize::from(v.visibility == Visibility::Public);
            assert_eq!(n, want, "{} listed {n} times with limit {limit}", v.id);
        }
    }
    let newest = store.list_public(2, None).await.unwrap();
    assert_eq!(ids(&newest.items), ["vidList10", "vidList09"]);
}

/// Import inserts only new ids and counts them.
pub async fn import_skips_existing_ids(store: &dyn MetaStore) {
    store.create_video(external("vidImp1", "Narwhal original")).await.unwrap();
    let batch = vec![
        external("vidImp1", "Narwhal replacement"),
        external("vidImp2", "Narwhal two"),
        external("vidImp3", "Narwhal three"),
        external("vidImp3", "Narwhal three again"),
    ];
    assert_eq!(store.import_videos(batch.clone()).await.unwrap(), 2);
    assert_eq!(store.import_videos(batch).await.unwrap(), 0, "a second import adds nothing");
    assert_eq!(store.import_videos(Vec::new()).await.unwrap(), 0);
    assert_eq!(store.video("vidImp1").await.unwrap().unwrap().title, "Narwhal original");
    assert_eq!(store.video("vidImp3").await.unwrap().unwrap().title, "Narwhal three");
    let mut found = search_all(store, "narwhal", 10).await;
    found.sort();
    assert_eq!(found, ["vidImp1", "vidImp2", "vidImp3"]);
}

/// An owner's listing shows their private and public videos, newest first, and no others.
pub async fn owner_listing_includes_private_videos(store: &dyn MetaStore) {
    let frank = user(store, "frank").await;
    let grace = user(store, "grace").await;
    let mut mine = Vec::new();
    for (i, visibility) in [Visibility::Private, Visibility::Public, Visibility::Private].into_iter().enumerate() {
        let v = stored(&format!("vidFrank{i}"), Some(frank.id), "Frank's", "", visibility);
        mine.push(store.create_video(v).await.unwrap().id);
    }
    store.create_video(stored("vidGrace0", Some(grace.id), "Grace's", "", Visibility::Public)).await.unwrap();

    let mut found = Vec::new();
    let mut start = None;
    loop {
        let page = store.list_by_owner(frank.id, 2, start).await.unwrap();
        assert!(page.items.iter().all(|v| v.owner_id == Some(frank.id)));
        assert!(page.items.iter().all(|v| v.owner_name.as_deref() == Some("frank")));
        found.extend(page.items.into_iter().map(|v| v.id));
        match page.next {
            Some(next) => start = Some(next),
            None => break,
        }
    }
    mine.reverse();
    assert_eq!(found, mine);
    let page = store.list_by_owner(grace.id, 10, None).await.unwrap();
    assert_eq!(ids(&page.items), ["vidGrace0"]);
    assert!(page.next.is_none());
    assert!(store.list_by_owner(i64::MAX, 10, None).await.unwrap().items.is_empty());
}

/// A new pending live stream of `owner`, described as "a quokka, live".
pub fn stream_record(owner: &User, id: &str, title: &str) -> NewVideo {
    NewVideo {
        id: id.to_owned(),
        owner_id: Some(owner.id),
        title: title.to_owned(),
        description: "a quokka, live".to_owned(),
        source: VideoSource::Live { state: LiveState::Pending, record: true },
        visibility: Visibility::Private,
        duration_ms: None,
        created_at: NOW,
    }
}

/// A live stream's life only goes forward (pending → live → ended): once ended it
/// cannot go live (or pending) again, the refusal is `Conflict("live_state")`, and the
/// stored stream stays ended and unlisted. Repeating the current state is harmless.
pub async fn an_ended_stream_cannot_go_live_again(store: &dyn MetaStore) {
    let owner = user(store, "finished").await;
    store.create_video(stream_record(&owner, "ended-1", "Platypus farewell")).await.expect("create stream");
    store.set_live_state("ended-1", LiveState::Live, None, NOW + 1).await.expect("pending → live");
    store.set_live_state("ended-1", LiveState::Ended, None, NOW + 2).await.expect("live → ended");
    let ended = store.set_live_state("ended-1", LiveState::Ended, None, NOW + 3).await.expect("ended twice is fine");

    for backwards in [LiveState::Live, LiveState::Pending] {
        assert_conflict(store.set_live_state("ended-1", backwards, None, NOW + 4).await, "live_state");
    }
    assert_eq!(store.video("ended-1").await.unwrap(), Some(ended), "unchanged by the refusals");
    assert!(search_all(store, "platypus", 10).await.is_empty(), "still unlisted");

    // Given up before it went live: ended too, for good.
    store.create_video(stream_record(&owner, "ended-2", "Platypus rehearsal")).await.expect("create stream");
    store.set_live_state("ended-2", LiveState::Ended, None, NOW + 5).await.expect("pending → ended");
    assert_conflict(store.set_live_state("ended-2", LiveState::Live, None, NOW + 6).await, "live_state");
    // And a live stream does not go back to pending.
    store.create_video(stream_record(&owner, "ended-3", "Platypus live")).await.expect("create stream");
    store.set_live_state("ended-3", LiveState::Live, None, NOW + 7).await.expect("pending → live");
    assert_conflict(store.set_live_state("ended-3", LiveState::Pending, None, NOW + 8).await, "live_state");
    store.set_live_state("ended-3", LiveState::Ended, None, NOW + 9).await.expect("live → ended");
}

/// A live stream is private while pending, public (listed, searchable) while live, and
/// private again once ended; it cannot be published like an upload.
pub async fn live_streams_are_listed_only_while_live(store: &dyn MetaStore) {
    let owner = user(store, "broadcaster").await;
    let created = store.create_video(stream_record(&owner, "live-1", "Quokkacam live")).await.expect("create stream");
    assert_eq!(created.source, VideoSource::Live { state: LiveState::Pending, record: true });
    assert!(search_all(store, "quokkacam", 10).await.is_empty(), "pending streams are not listed");

    let live = store.set_live_state("live-1", LiveState::Live, None, NOW + 5).await.expect("go live");
    assert_eq!(live.visibility, Visibility::Public);
    assert_eq!(live.published_at, Some(NOW + 5));
    assert_eq!(search_all(store, "quokkacam", 10).await, vec!["live-1".to_owned()]);

    let ended = store.set_live_state("live-1", LiveState::Ended, None, NOW + 60).await.expect("end");
    assert_eq!(ended.visibility, Visibility::Private);
    assert_eq!(ended.source, VideoSource::Live { state: LiveState::Ended, record: true });
    assert!(search_all(store, "quokkacam", 10).await.is_empty(), "ended streams are not listed");

    let mut second = stream_record(&owner, "live-2", "Quokkacam second");
    second.created_at = NOW + 90;
    store.create_video(second).await.expect("create a second stream");
    let live = store.set_live_state("live-2", LiveState::Live, None, NOW + 100).await.expect("live");
    let again = store.set_live_state("live-2", LiveState::Live, None, NOW + 110).await.expect("live, reported twice");
    assert_eq!(again.published_at, live.published_at, "the first time it went live is kept");
    let ended = store.end_all_live(NOW + 101).await.expect("end all");
    assert!(ended >= 1);
    assert!(search_all(store, "quokkacam", 10).await.is_empty(), "ended by end_all_live");
    let record = store.video("live-2").await.expect("read").expect("exists");
    assert_eq!(record.source, VideoSource::Live { state: LiveState::Ended, record: true });
    assert_eq!(store.end_all_live(NOW + 102).await.expect("again"), 0, "nothing left live");

    assert!(matches!(store.publish_video("live-1", &media("live-1", 1), NOW).await, Err(StoreError::NotFound)));
    assert!(matches!(store.set_live_state("nope", LiveState::Live, None, NOW).await, Err(StoreError::NotFound)));
    store.create_video(stored("not-live", None, "upload", "", Visibility::Private)).await.expect("create");
    assert!(matches!(store.set_live_state("not-live", LiveState::Live, None, NOW).await, Err(StoreError::NotFound)));
}

/// The streams of a media server that is gone (not among the alive ones) are ended;
/// those of live servers, and those with no recorded server, are not.
pub async fn streams_of_a_vanished_media_server_are_ended(store: &dyn MetaStore) {
    let owner = user(store, "orphan-owner").await;
    for (id, host) in [("orph-1", Some("sfu-dead")), ("orph-2", Some("sfu-alive")), ("orph-3", None)] {
        store.create_video(stream_record(&owner, id, "Wombatcam")).await.expect("create stream");
        store.set_live_state(id, LiveState::Live, host, NOW + 1).await.expect("go live");
    }
    // Reported live again without a host: the recorded one stays.
    store.set_live_state("orph-1", LiveState::Live, None, NOW + 2).await.expect("live again");
    assert_eq!(
        store.end_orphaned_live(&[], NOW + 3).await.expect("nothing alive?"),
        0,
        "an empty registry ends nothing"
    );
    let alive = vec!["sfu-alive".to_owned(), "sfu-other".to_owned()];
    assert_eq!(store.end_orphaned_live(&alive, NOW + 3).await.expect("reap"), 1);
    let state = |v: Option<Video>| v.map(|v| v.source);
    assert_eq!(
        state(store.video("orph-1").await.unwrap()),
        Some(VideoSource::Live { state: LiveState::Ended, record: true })
    );
    assert_eq!(
        state(store.video("orph-2").await.unwrap()),
        Some(VideoSource::Live { state: LiveState::Live, record: true })
    );
    assert_eq!(
        state(store.video("orph-3").await.unwrap()),
        Some(VideoSource::Live { state: LiveState::Live, record: true })
    );
    assert_eq!(search_all(store, "wombatcam", 10).await.len(), 2, "the ended one is no longer listed");
    assert_eq!(store.end_orphaned_live(&alive, NOW + 4).await.expect("again"), 0);
    // Ended streams forget their server: it may be gone later without effect.
    store.set_live_state("orph-2", LiveState::Ended, None, NOW + 5).await.expect("end");
    assert_eq!(store.end_orphaned_live(&["sfu-other".to_owned()], NOW + 6).await.expect("reap"), 0);
}

fn server(id: &str, kind: ServerKind, load: i64, heartbeat_at: i64) -> ServerEntry {
    let turn = (kind == ServerKind::Endpoint).then(|| format!("{id}.example:3478"));
    let media = (kind == ServerKind::Sfu).then(|| format!("10.0.0.{load}:40000"));
    ServerEntry { id: id.to_owned(), kind, url: format!("http://{id}.example:8080"), load, turn, media, heartbeat_at }
}

/// Heartbeats replace an entry (an SFU's media address included); only recent ones
/// count; least loaded first; expiry and removal delete.
pub async fn server_registry_tracks_heartbeats(store: &dyn MetaStore) {
    let (endpoint, sfu) = (ServerKind::Endpoint, ServerKind::Sfu);
    store.heartbeat(server("e-busy", endpoint, 9, NOW)).await.unwrap();
    store.heartbeat(server("e-idle", endpoint, 1, NOW)).await.unwrap();
    store.heartbeat(server("e-stale", endpoint, 0, NOW - 30)).await.unwrap();
    store.heartbeat(server("s-1", sfu, 5, NOW)).await.unwrap();
    let live = store.live_servers(endpoint, NOW - 10).await.unwrap();
    let ids: Vec<&str> = live.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["e-idle", "e-busy"], "recent endpoints only, least loaded first");
    assert_eq!(live[0], server("e-idle", endpoint, 1, NOW));
    assert_eq!(store.live_servers(sfu, NOW - 10).await.unwrap(), vec![server("s-1", sfu, 5, NOW)]);

    // A new heartbeat replaces the entry: the stale one is back, and now the least loaded.
    store.heartbeat(server("e-stale", endpoint, 0, NOW + 1)).await.unwrap();
    let ids: Vec<String> = store.live_servers(endpoint, NOW - 10).await.unwrap().into_iter().map(|s| s.id).collect();
    assert_eq!(ids, ["e-stale", "e-idle", "e-busy"]);

    // Missed heartbeats: gone from the live list at once, deleted by expiry.
    assert_eq!(store.live_servers(endpoint, NOW + 1).await.unwrap().len(), 1, "only e-stale beat at NOW + 1");
    assert_eq!(store.expire_servers(NOW + 1).await.unwrap(), 3, "e-busy, e-idle and s-1 are older");
    store.remove_server("e-stale").await.unwrap();
    store.remove_server("never-there").await.unwrap();
    assert!(store.live_servers(endpoint, 0).await.unwrap().is_empty());
}

/// A live stream `id` of `owner` titled `title`, taken to `state` (live at `NOW + 5`,
/// ended at `NOW + 100`, through live), with recording segments `1..=segments` stored.
async fn recorded_stream(
    store: &dyn MetaStore,
    owner: &User,
    id: &str,
    title: &str,
    state: LiveState,
    segments: u32,
) -> Video {
    store.create_video(stream_record(owner, id, title)).await.expect("create stream");
    if state != LiveState::Pending {
        store.set_live_state(id, LiveState::Live, None, NOW + 5).await.expect("go live");
    }
    for index in 1..=segments {
        store.note_recording_segment(id, index).await.expect("note segment");
    }
    if state == LiveState::Ended {
        store.set_live_state(id, LiveState::Ended, None, NOW + 100).await.expect("end");
    }
    store.video(id).await.expect("read").expect("exists")
}

/// The ids of [`MetaStore::unfinished_recordings`] at `now` that start with `prefix`
/// (other checks may share the store).
async fn unfinished_with(store: &dyn MetaStore, prefix: &str, now: i64) -> Vec<String> {
    let ids = store.unfinished_recordings(now, 10_000).await.expect("unfinished recordings");
    ids.into_iter().filter(|id| id.starts_with(prefix)).collect()
}

/// Asserts `result` is `NotFound`.
fn assert_not_found<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
    assert!(matches!(result, Err(StoreError::NotFound)), "{what}: expected NotFound, got {result:?}");
}

/// A live stream's segment count (read through a claim once it has ended) is the
/// highest index noted, in whatever order and however often; in every live state. A
/// stored, staged, external or absent video has no recording: `NotFound`.
pub async fn recording_segments_only_grow_and_only_for_live_streams(store: &dyn MetaStore) {
    let owner = user(store, "rec-grower").await;
    store.create_video(stream_record(&owner, "recgrow-1", "Growing")).await.expect("create stream");
    store.note_recording_segment("recgrow-1", 1).await.expect("while pending");
    store.set_live_state("recgrow-1", LiveState::Live, None, NOW + 1).await.expect("go live");
    for index in [2, 3, 5, 4, 1, 5] {
        store.note_recording_segment("recgrow-1", index).await.expect("while live");
    }
    store.set_live_state("recgrow-1", LiveState::Ended, None, NOW + 2).await.expect("end");
    store.note_recording_segment("recgrow-1", 2).await.expect("while ended");
    assert_eq!(store.claim_recording("recgrow-1", "sfu-a", NOW, NOW + 60).await.unwrap(), Some(5), "never lowered");
    store.note_recording_segment("recgrow-1", 6).await.expect("a late segment");
    assert_eq!(store.claim_recording("recgrow-1", "sfu-a", NOW, NOW + 60).await.unwrap(), Some(6));

    store.create_video(stored("recgrow-staged", None, "Staged", "", Visibility::Private)).await.unwrap();
    store.create_video(stored("recgrow-stored", None, "Stored", "", Visibility::Public)).await.unwrap();
    store.create_video(external("recgrow-ext", "External")).await.unwrap();
    for id in ["recgrow-staged", "recgrow-stored", "recgrow-ext", "recgrow-absent"] {
        assert_not_found(store.note_recording_segment(id, 1).await, id);
    }
    let staged = store.video("recgrow-staged").await.unwrap().unwrap();
    assert!(matches!(staged.source, VideoSource::Staged { .. }), "unchanged");
}

/// Ending a stream, whichever way, keeps its segment count (so that its recording can
/// still be finished).
pub async fn ended_streams_keep_their_recording_segments(store: &dyn MetaStore) {
    let owner = user(store, "rec-keeper").await;
    let by_state = recorded_stream(store, &owner, "reckeep-1", "Kept", LiveState::Ended, 2).await;
    assert_eq!(by_state.source, VideoSource::Live { state: LiveState::Ended, record: true });
    store.set_live_state("reckeep-1", LiveState::Ended, None, NOW + 101).await.expect("ended twice");

    recorded_stream(store, &owner, "reckeep-2", "Kept", LiveState::Live, 3).await;
    store.set_live_state("reckeep-2", LiveState::Live, Some("reckeep-sfu-dead"), NOW + 6).await.expect("host");
    let alive = vec!["reckeep-sfu-alive".to_owned()];
    assert!(store.end_orphaned_live(&alive, NOW + 7).await.expect("reap") >= 1);

    recorded_stream(store, &owner, "reckeep-3", "Kept", LiveState::Live, 4).await;
    assert!(store.end_all_live(NOW + 8).await.expect("end all") >= 1);

    for (id, segments) in [("reckeep-1", 2), ("reckeep-2", 3), ("reckeep-3", 4)] {
        let video = store.video(id).await.unwrap().unwrap();
        assert_eq!(video.source, VideoSource::Live { state: LiveState::Ended, record: true }, "{id}");
        assert_eq!(store.claim_recording(id, "sfu-k", NOW + 10, NOW + 70).await.unwrap(), Some(segments), "{id}");
    }
}

/// Only an ended live stream with segments has a recording to claim.
pub async fn only_ended_recordings_with_segments_are_claimed(store: &dyn MetaStore) {
    let owner = user(store, "rec-claimant").await;
    recorded_stream(store, &owner, "recclaim-pending", "Claim", LiveState::Pending, 2).await;
    recorded_stream(store, &owner, "recclaim-live", "Claim", LiveState::Live, 2).await;
    recorded_stream(store, &owner, "recclaim-empty", "Claim", LiveState::Ended, 0).await;
    store.create_video(stored("recclaim-stored", None, "Claim", "", Visibility::Public)).await.unwrap();
    store.create_video(stored("recclaim-staged", None, "Claim", "", Visibility::Private)).await.unwrap();
    for id in ["recclaim-pending", "recclaim-live", "recclaim-empty", "recclaim-stored", "recclaim-staged", "nope"] {
        assert_eq!(store.claim_recording(id, "sfu-a", NOW, NOW + 60).await.unwrap(), None, "{id}");
    }
    // Once the live one has ended, it can be claimed.
    store.set_live_state("recclaim-live", LiveState::Ended, None, NOW + 100).await.expect("end");
    assert_eq!(store.claim_recording("recclaim-live", "sfu-a", NOW, NOW + 60).await.unwrap(), Some(2));
}

/// A claim keeps other claimers out until it expires (at its end time); its holder may
/// renew it (even after expiry, if nobody took it), and after expiry anyone may take it.
pub async fn a_recording_claim_is_exclusive_renewable_and_expires(store: &dyn MetaStore) {
    let owner = user(store, "rec-holder").await;
    recorded_stream(store, &owner, "rechold-1", "Held", LiveState::Ended, 3).await;
    let claim = |claimer: &'static str, now: i64, until: i64| store.claim_recording("rechold-1", claimer, now, until);

    assert_eq!(claim("sfu-a", NOW, NOW + 60).await.unwrap(), Some(3), "a free recording");
    assert_eq!(claim("sfu-b", NOW + 1, NOW + 61).await.unwrap(), None, "held by sfu-a");
    assert_eq!(claim("sfu-b", NOW + 59, NOW + 119).await.unwrap(), None, "held until NOW + 60");
    assert_eq!(claim("sfu-a", NOW + 30, NOW + 90).await.unwrap(), Some(3), "renewed by its holder");
    assert_eq!(claim("sfu-a", NOW + 30, NOW + 90).await.unwrap(), Some(3), "renewed to the same time");
    assert_eq!(claim("sfu-b", NOW + 89, NOW + 149).await.unwrap(), None, "the renewal holds until NOW + 90");
    assert_eq!(claim("sfu-b", NOW + 90, NOW + 150).await.unwrap(), Some(3), "expired: taken over");
    assert_eq!(claim("sfu-a", NOW + 91, NOW + 151).await.unwrap(), None, "the former holder is out");
    assert_eq!(claim("sfu-b", NOW + 200, NOW + 260).await.unwrap(), Some(3), "renewed after expiry");
    assert_eq!(claim("sfu-a", NOW + 259, NOW + 300).await.unwrap(), None);
}

/// Two claimers racing for each of several free recordings: exactly one wins each.
pub async fn racing_claimers_exactly_one_wins(store: &dyn MetaStore) {
    let owner = user(store, "rec-racer").await;
    for i in 0..8 {
        let id = format!("recrace-{i}");
        recorded_stream(store, &owner, &id, "Race", LiveState::Ended, 1 + i).await;
        let (a, b) = tokio::join!(
            store.claim_recording(&id, "sfu-a", NOW, NOW + 60),
            store.claim_recording(&id, "sfu-b", NOW, NOW + 60),
        );
        let winners: Vec<u32> = [a.expect("claim a"), b.expect("claim b")].into_iter().flatten().collect();
        assert_eq!(winners, [1 + i], "{id}: exactly one claimer wins");
        assert_eq!(unfinished_with(store, &id, NOW + 1).await, Vec::<String>::new(), "{id} is claimed");
    }
}

/// Unfinished recordings are the ended streams with segments and no unexpired claim,
/// oldest first, at most `limit`.
pub async fn unfinished_recordings_are_the_ended_unclaimed_ones(store: &dyn MetaStore) {
    let owner = user(store, "rec-sweeper").await;
    recorded_stream(store, &owner, "recunf-1", "Unfinished", LiveState::Ended, 2).await;
    recorded_stream(store, &owner, "recunf-2", "No segments", LiveState::Ended, 0).await;
    recorded_stream(store, &owner, "recunf-3", "Still live", LiveState::Live, 2).await;
    recorded_stream(store, &owner, "recunf-4", "Claimed", LiveState::Ended, 1).await;
    recorded_stream(store, &owner, "recunf-5", "Claim expired", LiveState::Ended, 4).await;
    recorded_stream(store, &owner, "recunf-6", "Pending", LiveState::Pending, 1).await;
    store.create_video(stored("recunf-7", None, "Stored", "", Visibility::Public)).await.unwrap();
    assert_eq!(store.claim_recording("recunf-4", "sfu-a", NOW, NOW + 60).await.unwrap(), Some(1));
    assert_eq!(store.claim_recording("recunf-5", "sfu-a", NOW, NOW + 10).await.unwrap(), Some(4));

    assert_eq!(unfinished_with(store, "recunf-", NOW + 9).await, ["recunf-1"]);
    assert_eq!(unfinished_with(store, "recunf-", NOW + 10).await, ["recunf-1", "recunf-5"], "expired at its end");
    assert_eq!(unfinished_with(store, "recunf-", NOW + 60).await, ["recunf-1", "recunf-4", "recunf-5"]);

    // The whole list (other checks may share the store) is oldest first and limited.
    let all = store.unfinished_recordings(NOW + 60, 10_000).await.unwrap();
    let mut seqs = Vec::new();
    for id in &all {
        seqs.push(store.video(id).await.unwrap().expect("listed ids exist").seq);
    }
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "oldest first: {all:?}");
    assert_eq!(store.unfinished_recordings(NOW + 60, 2).await.unwrap(), all[..2]);
    assert!(store.unfinished_recordings(NOW + 60, 0).await.unwrap().is_empty());

    // The live one joins the list once it has ended.
    store.set_live_state("recunf-3", LiveState::Ended, None, NOW + 100).await.expect("end");
    assert_eq!(unfinished_with(store, "recunf-", NOW + 9).await, ["recunf-1", "recunf-3"]);
}

/// Publishing a recording turns its ended stream into a public stored video at the
/// same id, found by search and in its owner's listing, keeping title, description,
/// owner and first publication time; it is then no stream and no recording any more,
/// and publishing again is `NotFound` and changes nothing.
pub async fn a_published_recording_is_a_public_stored_video(store: &dyn MetaStore) {
    let owner = user(store, "rec-publisher").await;
    let stream = recorded_stream(store, &owner, "recpub-1", "Axolotl recital", LiveState::Ended, 3).await;
    assert_eq!(stream.published_at, Some(NOW + 5), "it went live at NOW + 5");
    assert!(search_all(store, "axolotl", 10).await.is_empty(), "ended streams are not listed");
    assert_eq!(store.claim_recording("recpub-1", "sfu-a", NOW + 150, NOW + 210).await.unwrap(), Some(3));

    let published = store.publish_recording("recpub-1", &media("recpub-1", 61_000), NOW + 200).await.unwrap();
    let expected = Video {
        source: VideoSource::Stored { video_key: "recpub-1/n1.mp4".into(), preview_key: "recpub-1/n1.jpg".into() },
        visibility: Visibility::Public,
        duration_ms: Some(61_000),
        ..stream.clone()
    };
    assert_eq!(published, expected, "same id, seq, title, description, owner, created_at and published_at");
    assert_eq!(published.owner_name.as_deref(), Some("rec-publisher"));
    assert_eq!(store.video("recpub-1").await.unwrap(), Some(published.clone()));
    assert_eq!(search_all(store, "axolotl", 10).await, ["recpub-1"]);
    assert!(list_public_all(store, 50).await.contains(&"recpub-1".to_owned()));
    let page = store.list_by_owner(owner.id, 10, None).await.unwrap();
    assert_eq!(page.items, std::slice::from_ref(&published));

    // No stream, no recording any more.
    assert!(unfinished_with(store, "recpub-", NOW + 1_000).await.is_empty());
    assert_eq!(store.claim_recording("recpub-1", "sfu-a", NOW + 300, NOW + 360).await.unwrap(), None);
    assert_not_found(store.note_recording_segment("recpub-1", 4).await, "note after publishing");
    assert_not_found(store.drop_recording("recpub-1").await, "drop after publishing");
    assert_not_found(store.set_live_state("recpub-1", LiveState::Ended, None, NOW + 300).await, "set_live_state");
    let other =
        PublishedMedia { video_key: "recpub-1/n2.mp4".into(), preview_key: "recpub-1/n2.jpg".into(), duration_ms: 5 };
    assert_not_found(store.publish_recording("recpub-1", &other, NOW + 400).await, "published again");
    assert_not_found(store.publish_video("recpub-1", &other, NOW + 400).await, "published as an upload");
    assert_eq!(store.video("recpub-1").await.unwrap(), Some(published), "unchanged by the refusals");

    // A stream given up before it went live was never published: now it is.
    recorded_stream(store, &owner, "recpub-2", "Axolotl rehearsal", LiveState::Pending, 1).await;
    let ended = store.set_live_state("recpub-2", LiveState::Ended, None, NOW + 500).await.expect("end");
    assert_eq!(ended.published_at, None);
    let published = store.publish_recording("recpub-2", &media("recpub-2", 1_000), NOW + 600).await.unwrap();
    assert_eq!(published.published_at, Some(NOW + 600));
    assert_eq!(published.visibility, Visibility::Public);
    assert_eq!(search_all(store, "axolotl rehearsal", 10).await[0], "recpub-2");
}

/// Only an ended stream with segments publishes a recording; anything else is
/// `NotFound` and left as it was.
pub async fn only_ended_streams_with_segments_publish_a_recording(store: &dyn MetaStore) {
    let owner = user(store, "rec-refused").await;
    recorded_stream(store, &owner, "recnot-live", "Refused", LiveState::Live, 2).await;
    recorded_stream(store, &owner, "recnot-pending", "Refused", LiveState::Pending, 2).await;
    recorded_stream(store, &owner, "recnot-empty", "Refused", LiveState::Ended, 0).await;
    store.create_video(stored("recnot-staged", None, "Refused", "", Visibility::Private)).await.unwrap();
    store.create_video(external("recnot-ext", "Refused")).await.unwrap();
    for id in ["recnot-live", "recnot-pending", "recnot-empty", "recnot-staged", "recnot-ext", "recnot-absent"] {
        let before = store.video(id).await.unwrap();
        assert_not_found(store.publish_recording(id, &media(id, 1_000), NOW + 200).await, id);
        assert_eq!(store.video(id).await.unwrap(), before, "{id} unchanged");
    }
    // A live stream that goes on recording is still a stream, and still listed.
    store.note_recording_segment("recnot-live", 3).await.expect("still live");
    let live = store.video("recnot-live").await.unwrap().unwrap();
    assert_eq!(live.source, VideoSource::Live { state: LiveState::Live, record: true });
    assert_eq!(live.visibility, Visibility::Public);
}

/// A dropped recording is no longer unfinished: it cannot be claimed or published.
/// Dropping again is fine; a video that is no live stream is `NotFound`.
pub async fn a_dropped_recording_is_no_longer_unfinished(store: &dyn MetaStore) {
    let owner = user(store, "rec-dropper").await;
    recorded_stream(store, &owner, "recdrop-1", "Dropped", LiveState::Ended, 3).await;
    recorded_stream(store, &owner, "recdrop-2", "Kept", LiveState::Ended, 1).await;
    assert_eq!(unfinished_with(store, "recdrop-", NOW).await, ["recdrop-1", "recdrop-2"]);
    assert_eq!(store.claim_recording("recdrop-1", "sfu-a", NOW, NOW + 60).await.unwrap(), Some(3));

    store.drop_recording("recdrop-1").await.expect("drop");
    assert_eq!(unfinished_with(store, "recdrop-", NOW + 60).await, ["recdrop-2"]);
    store.drop_recording("recdrop-1").await.expect("dropping again is fine");
    assert_eq!(store.claim_recording("recdrop-1", "sfu-a", NOW, NOW + 60).await.unwrap(), None);
    assert_eq!(store.claim_recording("recdrop-1", "sfu-b", NOW + 60, NOW + 120).await.unwrap(), None);
    assert_not_found(store.publish_recording("recdrop-1", &media("recdrop-1", 1), NOW).await, "publish dropped");
    let video = store.video("recdrop-1").await.unwrap().unwrap();
    assert_eq!(video.source, VideoSource::Live { state: LiveState::Ended, record: true }, "still an ended stream");

    store.create_video(stored("recdrop-staged", None, "Dropped", "", Visibility::Private)).await.unwrap();
    for id in ["recdrop-staged", "recdrop-absent"] {
        assert_not_found(store.drop_recording(id).await, id);
    }
}

/// A live stream created with `record: false` reads back so at every state; the
/// default (`true`) too.
pub async fn a_stream_keeps_its_recording_choice(store: &dyn MetaStore) {
    let owner = user(store, "unrecorded").await;
    let mut unrecorded = stream_record(&owner, "norec-1", "Wombat off the record");
    unrecorded.source = VideoSource::Live { state: LiveState::Pending, record: false };
    let created = store.create_video(unrecorded).await.expect("create stream");
    assert_eq!(created.source, VideoSource::Live { state: LiveState::Pending, record: false });
    let live = store.set_live_state("norec-1", LiveState::Live, None, NOW + 1).await.expect("live");
    assert_eq!(live.source, VideoSource::Live { state: LiveState::Live, record: false });
    let ended = store.set_live_state("norec-1", LiveState::Ended, None, NOW + 2).await.expect("ended");
    assert_eq!(ended.source, VideoSource::Live { state: LiveState::Ended, record: false });

    let recorded = store.create_video(stream_record(&owner, "norec-2", "Wombat on the record")).await.unwrap();
    assert_eq!(recorded.source, VideoSource::Live { state: LiveState::Pending, record: true });
}
