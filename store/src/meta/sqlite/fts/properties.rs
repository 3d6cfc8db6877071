//! Properties of the FTS5 expression made from a visitor's text: at most 16 quoted
//! prefix terms joined by `OR`, no quote inside a term (so no FTS5 syntax can come
//! through), and no expression at all exactly when the text has no word.

use proptest::prelude::*;

use super::*;

fn query() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[\"*^():+ a-zA-Z0-9İß-]{0,80}",
        (any::<char>(), 0..300usize).prop_map(|(c, n)| std::iter::repeat_n(c, n).collect()),
    ]
}

proptest! {
    #[test]
    fn any_text_becomes_at_most_16_quoted_prefix_terms_or_none(query in query()) {
        let has_word = query.chars().any(char::is_alphanumeric);
        match match_expression(&query) {
            None => prop_assert!(!has_word),
            Some(expression) => {
                prop_assert!(has_word);
                let terms: Vec<&str> = expression.split(" OR ").collect();
                prop_assert!(terms.len() <= crate::meta::search_words::MAX_WORDS);
                for term in terms {
                    let inner = term.strip_prefix('"').and_then(|t| t.strip_suffix("\"*"));
                    let inner = inner.ok_or_else(|| TestCaseError::fail(format!("{term:?} is not \"…\"*")))?;
                    prop_assert!(!inner.is_empty() && !inner.contains('"'), "{:?}", term);
                }
            }
        }
    }
}
