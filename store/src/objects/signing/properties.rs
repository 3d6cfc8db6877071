//! Properties of URL signatures: a signature verifies for exactly the grant it was made
//! for (any change to method, bucket, key, expiry or size limit fails), only until its
//! expiry, and any signature text from outside is refused without a panic.

use proptest::prelude::*;

use super::*;

/// A grant for a valid key (the only kind the stores sign).
#[derive(Debug, Clone)]
struct OwnedGrant {
    method: Method,
    bucket: Bucket,
    key: String,
    expires_at: i64,
    max_bytes: Option<u64>,
}

impl OwnedGrant {
    fn grant(&self) -> UrlGrant<'_> {
        UrlGrant {
            method: self.method,
            bucket: self.bucket,
            key: &self.key,
            expires_at: self.expires_at,
            max_bytes: self.max_bytes,
            part: None,
        }
    }
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![Just(Method::Get), Just(Method::Put)]
}

fn bucket() -> impl Strategy<Value = Bucket> {
    prop_oneof![Just(Bucket::Previews), Just(Bucket::Videos)]
}

fn key() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_-][A-Za-z0-9._-]{0,20}(/[A-Za-z0-9_-][A-Za-z0-9._-]{0,20}){0,3}"
}

fn grant() -> impl Strategy<Value = OwnedGrant> {
    (method(), bucket(), key(), any::<i64>(), any::<Option<u64>>()).prop_map(
        |(method, bucket, key, expires_at, max_bytes)| OwnedGrant { method, bucket, key, expires_at, max_bytes },
    )
}

/// One change to one signed field.
#[derive(Debug, Clone)]
enum Change {
    Method,
    Bucket,
    Key(String),
    Expires(i64),
    Max(Option<u64>),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        Just(Change::Method),
        Just(Change::Bucket),
        key().prop_map(Change::Key),
        any::<i64>().prop_map(Change::Expires),
        any::<Option<u64>>().prop_map(Change::Max),
    ]
}

/// `grant` with `change` applied, or `None` when the change leaves it as it was.
fn changed(grant: &OwnedGrant, change: Change) -> Option<OwnedGrant> {
    let mut new = grant.clone();
    match change {
        Change::Method => new.method = if grant.method == Method::Get { Method::Put } else { Method::Get },
        Change::Bucket => new.bucket = if grant.bucket == Bucket::Videos { Bucket::Previews } else { Bucket::Videos },
        Change::Key(key) => new.key = key,
        Change::Expires(at) => new.expires_at = at,
        Change::Max(max) => new.max_bytes = max,
    }
    (new.grant() != grant.grant()).then_some(new)
}

proptest! {
    #[test]
    fn a_signature_verifies_for_its_grant_until_it_expires(
        secret in prop::collection::vec(any::<u8>(), 0..64),
        grant in grant(),
        now in any::<i64>(),
    ) {
        let signer = UrlSigner::new(&secret);
        let sig = signer.sign(&grant.grant());
        prop_assert_eq!(sig.len(), 64);
        let expected = if now < grant.expires_at { Ok(()) } else { Err(SignatureError::Expired) };
        prop_assert_eq!(signer.verify(&grant.grant(), &sig, now), expected);
    }

    #[test]
    fn signature_fails_when_any_signed_field_changes(
        grant in grant(),
        change in change(),
        now in any::<i64>(),
    ) {
        let signer = UrlSigner::new(b"secret");
        let sig = signer.sign(&grant.grant());
        if let Some(tampered) = changed(&grant, change) {
            prop_assert_eq!(signer.verify(&tampered.grant(), &sig, now), Err(SignatureError::Invalid), "{:?}", tampered);
        }
    }

    #[test]
    fn signature_fails_under_another_secret(
        a in prop::collection::vec(any::<u8>(), 1..64),
        b in prop::collection::vec(any::<u8>(), 1..64),
        grant in grant(),
    ) {
        prop_assume!(a != b);
        let sig = UrlSigner::new(&a).sign(&grant.grant());
        prop_assert_eq!(UrlSigner::new(&b).verify(&grant.grant(), &sig, i64::MIN), Err(SignatureError::Invalid));
    }

    #[test]
    fn any_signature_text_is_refused_unless_it_spells_the_signature(
        grant in grant(),
        text in prop_oneof![any::<String>(), "[0-9a-fA-F]{0,70}"],
        flip in 0..64usize,
    ) {
        let signer = UrlSigner::new(b"secret");
        let sig = signer.sign(&grant.grant());
        let spells_it = hex::decode(&text).is_ok_and(|bytes| hex::encode(bytes) == sig);
        let result = signer.verify(&grant.grant(), &text, i64::MIN);
        prop_assert_eq!(result.is_ok(), spells_it);
        // One hex digit changed anywhere is refused.
        let mut one_off = sig.clone().into_bytes();
        one_off[flip] = if one_off[flip] == b'0' { b'1' } else { b'0' };
        let one_off = String::from_utf8(one_off).unwrap();
        prop_assert_eq!(signer.verify(&grant.grant(), &one_off, i64::MIN), Err(SignatureError::Invalid));
    }
}
