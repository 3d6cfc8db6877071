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
        Visibility::Public => {
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
async fn public(store: &dyn MetaStore, id: &str, title: &str, description: &str) -> Video {
    store.create_video(stored(id, None, title, description, Visibility::Public)).await.expect("create video")
}

/// The ids of a page's videos.
fn ids(videos: &[Video]) -> Vec<&str> {
    videos.iter().map(|v| v.id.as_str()).collect()
}

/// All ids a search returns, following pages of `limit`.
async fn search_all(store: &dyn MetaStore, query: &str, limit: u32) -> Vec<String> {
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
fn assert_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>, column: &str) {
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
async fn list_public_all(store: &dyn MetaStore, limit: u32) -> Vec<String> {
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
fn stream_record(owner: &User, id: &str, title: &str) -> NewVideo {
    NewVideo {
        id: id.to_owned(),
        owner_id: Some(owner.id),
        title: title.to_owned(),
        description: "a quokka, live".to_owned(),
        source: VideoSource::Live { state: LiveState::Pending },
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
    assert_eq!(created.source, VideoSource::Live { state: LiveState::Pending });
    assert!(search_all(store, "quokkacam", 10).await.is_empty(), "pending streams are not listed");

    let live = store.set_live_state("live-1", LiveState::Live, None, NOW + 5).await.expect("go live");
    assert_eq!(live.visibility, Visibility::Public);
    assert_eq!(live.published_at, Some(NOW + 5));
    assert_eq!(search_all(store, "quokkacam", 10).await, vec!["live-1".to_owned()]);

    let ended = store.set_live_state("live-1", LiveState::Ended, None, NOW + 60).await.expect("end");
    assert_eq!(ended.visibility, Visibility::Private);
    assert_eq!(ended.source, VideoSource::Live { state: LiveState::Ended });
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
    assert_eq!(record.source, VideoSource::Live { state: LiveState::Ended });
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
    assert_eq!(state(store.video("orph-1").await.unwrap()), Some(VideoSource::Live { state: LiveState::Ended }));
    assert_eq!(state(store.video("orph-2").await.unwrap()), Some(VideoSource::Live { state: LiveState::Live }));
    assert_eq!(state(store.video("orph-3").await.unwrap()), Some(VideoSource::Live { state: LiveState::Live }));
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
