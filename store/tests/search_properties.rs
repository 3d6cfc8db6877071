//! Properties of search on the real SQLite store: any text a visitor types searches
//! without an error (it never reaches FTS5 as syntax), a public video is found by a
//! query that starts with a word of its title, and private videos are never found.
//!
//! Case count and seed: `PROPTEST_CASES` and `PROPTEST_RNG_SEED` (see
//! docs/PROPERTY_TESTS.md).

use myvid_store::SqliteMeta;
use myvid_store::meta::{MetaStore, NewVideo, VideoSource, Visibility};
use proptest::prelude::*;
use proptest::test_runner::TestRunner;

const NOW: i64 = 1_700_000_000;

fn video(id: &str, title: &str, description: &str, visibility: Visibility) -> NewVideo {
    NewVideo {
        id: id.to_owned(),
        owner_id: None,
        title: title.to_owned(),
        description: description.to_owned(),
        source: VideoSource::Stored { video_key: format!("{id}/video.webm"), preview_key: format!("{id}/preview.jpg") },
        visibility,
        duration_ms: None,
        created_at: NOW,
    }
}

/// A store with a few public videos and one private one, and a runtime to query it.
fn store() -> (tokio::runtime::Runtime, SqliteMeta) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let store = runtime.block_on(async {
        let store = SqliteMeta::open_in_memory().await.unwrap();
        for (id, title, description) in [
            ("pub1", "Mountain ibex at dawn", "A quiet morning \"in\" the Alps (NEAR) * OR"),
            ("pub2", "Straße café ünïcode", "日本語のビデオ"),
            ("pub3", "Cats & dogs", "AND NOT OR NEAR ^ - + : \" ' ( ) { } [ ]"),
        ] {
            store.create_video(video(id, title, description, Visibility::Public)).await.unwrap();
        }
        store.create_video(video("secret", "Mountain ibex cats private", "hidden", Visibility::Private)).await.unwrap();
        store
    });
    (runtime, store)
}

/// Text a visitor might type: anything, and FTS5 syntax in pieces.
fn query() -> impl Strategy<Value = String> {
    let syntax = prop::sample::select(vec![
        "\"", "*", "^", "(", ")", "{", "}", ":", "-", "+", "AND", "OR", "NOT", "NEAR", "NEAR(", "title:", "'", "\0",
        " ", "ibex", "日本", "ß", "İ", "\u{301}", "²", "½", "Ⅻ",
    ]);
    prop_oneof![
        any::<String>(),
        prop::collection::vec(syntax, 0..24).prop_map(|parts| parts.concat()),
        prop::collection::vec(prop_oneof![any::<char>().prop_map(String::from), "[a-z]{1,70}"], 0..40)
            .prop_map(|parts| parts.join(" ")),
    ]
}

#[test]
fn any_query_text_searches_without_an_error_and_never_finds_private_videos() {
    let (runtime, store) = store();
    let mut runner = TestRunner::default();
    runner
        .run(&(query(), 0..30u32), |(query, limit)| {
            let page = runtime.block_on(store.search_public(&query, limit, None));
            let page = page.map_err(|e| TestCaseError::fail(format!("{query:?}: {e}")))?;
            prop_assert!(page.items.len() <= limit as usize);
            prop_assert!(page.items.iter().all(|v| v.visibility == Visibility::Public && v.id != "secret"));
            Ok(())
        })
        .unwrap();
}

#[test]
fn a_public_video_is_found_by_a_query_starting_with_a_word_of_its_title() {
    let (runtime, store) = store();
    let words = [("pub1", "Mountain"), ("pub1", "ibex"), ("pub1", "dawn"), ("pub3", "Cats"), ("pub3", "dogs")];
    let mut runner = TestRunner::default();
    runner
        .run(
            &(prop::sample::select(words.to_vec()), 1..=8usize, any::<bool>(), "[ ,;!?&|-]{1,3}", query()),
            |((id, word), prefix, upper, separator, rest)| {
                // A prefix of the word, in either case, then anything.
                let typed: String = word.chars().take(prefix).collect();
                let typed = if upper { typed.to_uppercase() } else { typed.to_lowercase() };
                let query = format!("{typed}{separator}{rest}");
                let page = runtime.block_on(store.search_public(&query, 10, None)).unwrap();
                prop_assert!(page.items.iter().any(|v| v.id == id), "{query:?} did not find {id}");
                Ok(())
            },
        )
        .unwrap();
}
