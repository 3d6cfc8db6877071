//! Properties of TURN REST user names: what `issue` makes, `check_username` accepts
//! until its expiry and no later; any text a TURN client sends is answered without a
//! panic, and only `<expiry>:<user>` names are accepted.

use proptest::prelude::*;

use super::*;

proptest! {
    #[test]
    fn issued_names_are_accepted_through_their_expiry_and_refused_after(
        user in ".+",
        now in -1_000_000_000_000i64..1_000_000_000_000,
        lifetime in 0..10_000_000i64,
        later in 0..20_000_000i64,
    ) {
        let cred = issue(b"secret", &user, now, lifetime);
        let at = now + later;
        let expected = if later <= lifetime { Ok(user.as_str()) } else { Err(CredentialError::Expired) };
        prop_assert_eq!(check_username(&cred.username, at), expected);
        prop_assert_eq!(cred.password, password(b"secret", &cred.username));
    }

    #[test]
    fn any_user_name_is_answered_and_only_expiry_colon_user_is_accepted(
        name in prop_oneof![any::<String>(), "[-+0-9]{0,21}:?.{0,8}"],
        now in any::<i64>(),
    ) {
        if let Ok(user) = check_username(&name, now) {
            let (expiry, rest) = name.split_once(':').expect("a colon");
            prop_assert_eq!(rest, user);
            prop_assert!(!user.is_empty());
            prop_assert!(expiry.parse::<i64>().is_ok_and(|e| e >= now));
        }
    }
}
