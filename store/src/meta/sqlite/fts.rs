//! Turning free text into a safe FTS5 query.
//!
//! User text never reaches `MATCH` as is: it is cut into alphanumeric words, and each
//! word becomes a quoted prefix term, so no FTS5 operator or syntax error can result.

use crate::meta::search_words::search_words;

/// The FTS5 expression for `query`: its words ([`search_words`]) as quoted prefix terms
/// joined with `OR`, e.g. `"cat"* OR "video"*`. `None` when the query has no words.
pub(super) fn match_expression(query: &str) -> Option<String> {
    let terms: Vec<String> = search_words(query).iter().map(|word| format!("\"{word}\"*")).collect();
    (!terms.is_empty()).then(|| terms.join(" OR "))
}

#[cfg(test)]
mod properties;

#[cfg(test)]
mod tests {
    use super::match_expression;

    #[test]
    fn words_become_quoted_prefix_terms() {
        assert_eq!(match_expression("Cats & Dogs!").as_deref(), Some(r#""cats"* OR "dogs"*"#));
        assert_eq!(match_expression("Ünïcode-Straße").as_deref(), Some(r#""ünïcode"* OR "straße"*"#));
        assert_eq!(match_expression("x\"y").as_deref(), Some(r#""x"* OR "y"*"#));
    }

    #[test]
    fn no_words_no_query() {
        for q in ["", "   ", "\"", "*", "(-:)\"'", "—"] {
            assert_eq!(match_expression(q), None, "{q:?}");
        }
    }

    #[test]
    fn limits_apply() {
        let many = (0..40).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" ");
        assert_eq!(match_expression(&many).unwrap().matches(" OR ").count(), 15);
        let long = "a".repeat(200);
        assert_eq!(match_expression(&long).unwrap(), format!("\"{}\"*", "a".repeat(64)));
    }
}
