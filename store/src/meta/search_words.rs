//! The words a search looks for, the same for every backend: user text is cut into
//! alphanumeric words (anything else separates them, so no query syntax of any engine
//! can come through), lowercased, at most [`MAX_WORDS`] of at most [`MAX_WORD_CHARS`]
//! characters. Each backend turns them into its own prefix terms.

/// At most this many words of a query are used.
pub(crate) const MAX_WORDS: usize = 16;
/// Words are cut to this many characters.
pub(crate) const MAX_WORD_CHARS: usize = 64;

/// The words of `query`; empty when it has none.
pub(crate) fn search_words(query: &str) -> Vec<String> {
    query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .take(MAX_WORDS)
        .map(|word| word.chars().take(MAX_WORD_CHARS).collect::<String>().to_lowercase())
        .collect()
}
