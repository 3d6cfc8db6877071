//! Properties of the free-text check every title, description and file name passes:
//! whatever arrives, the answer is the trimmed text within its limits, or an error
//! that names the field — exactly when a rule is broken.

use proptest::prelude::*;

use super::*;

/// Text near the limits: any characters, with blanks, controls, and long runs.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ \t\r\n]{0,3}[a-zé\t\n\r\u{0}\u{7f}\u{85} ]{0,30}[ \t\r\n]{0,3}",
        (any::<char>(), 0..300usize).prop_map(|(c, n)| std::iter::repeat_n(c, n).collect()),
    ]
}

proptest! {
    #[test]
    fn text_is_accepted_exactly_when_every_rule_holds(
        value in value(),
        max in 0..260usize,
        required in any::<bool>(),
        multiline in any::<bool>(),
    ) {
        let trimmed = value.trim();
        let allowed = |c: char| !c.is_control() || (multiline && matches!(c, '\n' | '\t' | '\r'));
        let ok = (!required || !trimmed.is_empty())
            && trimmed.chars().count() <= max
            && trimmed.chars().all(allowed);
        match text("a_field", &value, max, required, multiline) {
            Ok(kept) => {
                prop_assert!(ok);
                prop_assert_eq!(kept.as_str(), trimmed, "the text is kept, trimmed");
            }
            Err(err) => {
                prop_assert!(!ok, "refused: {}", err.message);
                prop_assert!(err.message.contains("`a_field`"), "the error names the field: {}", err.message);
            }
        }
    }

    #[test]
    fn page_sizes_are_always_within_bounds(requested in any::<Option<u32>>()) {
        prop_assert!((1..=MAX_PAGE).contains(&page_size(requested)));
    }
}
