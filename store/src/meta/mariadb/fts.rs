//! Turning free text into a safe InnoDB `MATCH … AGAINST (… IN BOOLEAN MODE)` query.
//!
//! User text never reaches `AGAINST` as is: it is cut into alphanumeric words (the
//! same words the SQLite backend searches for), and each becomes a prefix term
//! `word*`. With no operator in front, boolean mode matches rows with any of the
//! words and ranks rows with more of them higher, as the SQLite backend does.

use crate::meta::search_words::search_words;

/// The boolean-mode expression for `query`, e.g. `cats* dogs*`; `None` when the
/// query has no words.
pub(super) fn against_expression(query: &str) -> Option<String> {
    let terms: Vec<String> = search_words(query).iter().map(|word| format!("{word}*")).collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

#[cfg(test)]
mod tests {
    use super::against_expression;

    #[test]
    fn words_become_prefix_terms_with_no_operators() {
        assert_eq!(against_expression("Cats & Dogs!").as_deref(), Some("cats* dogs*"));
        assert_eq!(against_expression("+a -b \"c d\" (e) ~f <g >h @2").as_deref(), Some("a* b* c* d* e* f* g* h* 2*"));
        for q in ["", "   ", "\"", "*", "(-:)\"'", "—"] {
            assert_eq!(against_expression(q), None, "{q:?}");
        }
        let many = (0..40).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" ");
        assert_eq!(against_expression(&many).unwrap().split(' ').count(), 16);
    }
}
