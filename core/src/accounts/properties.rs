//! Properties of the sign-up checks on any text: a username, e-mail or password is
//! accepted exactly when it follows its rule, and nothing panics.

use proptest::prelude::*;

use super::*;

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[A-Za-z0-9_.\\-é @]{0,40}",
        "[a-z.+\\-]{0,20}@?[a-z.\\-@ ]{0,20}",
        (any::<char>(), 0..300usize).prop_map(|(c, n)| std::iter::repeat_n(c, n).collect()),
    ]
}

proptest! {
    #[test]
    fn usernames_are_accepted_exactly_when_3_to_32_ascii_name_characters(name in text()) {
        let rule = (3..=32).contains(&name.len())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        prop_assert_eq!(is_valid_username(&name), rule);
    }

    #[test]
    fn emails_are_accepted_exactly_when_one_at_between_two_nonempty_parts(email in text()) {
        let parts: Vec<&str> = email.split('@').collect();
        let rule = email.chars().count() <= MAX_EMAIL_CHARS
            && !email.chars().any(|c| c.is_whitespace() || c.is_control())
            && parts.len() == 2
            && parts.iter().all(|p| !p.is_empty());
        prop_assert_eq!(validate_email(&email).is_ok(), rule);
    }

    #[test]
    fn passwords_are_accepted_exactly_when_8_to_128_characters(password in text()) {
        let rule = (MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&password.chars().count());
        prop_assert_eq!(validate_password(&password).is_ok(), rule);
    }
}
