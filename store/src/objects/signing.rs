//! Signing and checking of expiring object URLs (HMAC-SHA256).
//!
//! Pure functions of their arguments: the current time is passed in, never read.
//! A grant is signed over the canonical string
//! `METHOD\nbucket\nkey\nexpires_at\nmax_bytes` (`max_bytes` empty when absent),
//! followed by `\nupload_id\npart_number` for the URL of one part of a multipart upload
//! (so a part URL is neither a whole-object URL nor the URL of another part or upload).
//! Keys must be [`valid_key`](super::valid_key)s and upload ids hex, neither containing a
//! newline, so the canonical string is unambiguous.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::Bucket;

/// The HTTP method a signed URL allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Download (with `Range`).
    Get,
    /// One upload.
    Put,
}

impl Method {
    /// The HTTP spelling, as used in the canonical string.
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Put => "PUT",
        }
    }
}

/// Everything a signature covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UrlGrant<'a> {
    /// The allowed method.
    pub method: Method,
    /// The bucket of the object.
    pub bucket: Bucket,
    /// The object key.
    pub key: &'a str,
    /// Unix seconds from which the URL is refused.
    pub expires_at: i64,
    /// Upload size limit (PUT URLs only).
    pub max_bytes: Option<u64>,
    /// The multipart upload and part this URL writes (part PUT URLs only).
    pub part: Option<PartRef<'a>>,
}

/// One part of one multipart upload, as a part URL names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartRef<'a> {
    /// The store's id of the upload (lowercase hex).
    pub upload_id: &'a str,
    /// The part number, 1–[`MAX_PARTS`](super::MAX_PARTS).
    pub number: u32,
}

/// Why a signed URL is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The signature is right but the URL is past its expiry.
    #[error("the signed URL has expired")]
    Expired,
    /// The signature does not match the request (tampered, wrong key or malformed).
    #[error("the URL signature is not valid")]
    Invalid,
}

type HmacSha256 = Hmac<Sha256>;

/// Signs and verifies [`UrlGrant`]s with one secret key.
#[derive(Clone)]
pub struct UrlSigner {
    /// The keyed MAC state, cloned for every signature.
    mac: HmacSha256,
}

impl std::fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UrlSigner { .. }")
    }
}

impl UrlSigner {
    /// A signer keyed with `secret` (any length; use at least 32 random bytes).
    pub fn new(secret: &[u8]) -> Self {
        let mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length");
        UrlSigner { mac }
    }

    /// The MAC state after absorbing the canonical string of `grant`.
    fn mac_of(&self, grant: &UrlGrant) -> HmacSha256 {
        let max = grant.max_bytes.map(|m| m.to_string()).unwrap_or_default();
        let mut canonical = format!(
            "{}\n{}\n{}\n{}\n{}",
            grant.method.as_str(),
            grant.bucket.as_str(),
            grant.key,
            grant.expires_at,
            max
        );
        if let Some(part) = grant.part {
            canonical.push_str(&format!("\n{}\n{}", part.upload_id, part.number));
        }
        let mut mac = self.mac.clone();
        mac.update(canonical.as_bytes());
        mac
    }

    /// The signature of `grant`: lowercase hex of its HMAC-SHA256.
    pub fn sign(&self, grant: &UrlGrant) -> String {
        hex::encode(self.mac_of(grant).finalize().into_bytes())
    }

    /// Checks `sig` against `grant` in constant time, then the expiry: `Invalid` when
    /// the signature does not match (checked first), `Expired` when `now >= expires_at`.
    pub fn verify(&self, grant: &UrlGrant, sig: &str, now: i64) -> Result<(), SignatureError> {
        let tag = hex::decode(sig).map_err(|_| SignatureError::Invalid)?;
        self.mac_of(grant).verify_slice(&tag).map_err(|_| SignatureError::Invalid)?;
        if now >= grant.expires_at {
            return Err(SignatureError::Expired);
        }
        Ok(())
    }
}

#[cfg(test)]
mod properties;

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    fn grant() -> UrlGrant<'static> {
        UrlGrant {
            method: Method::Put,
            bucket: Bucket::Videos,
            key: "abc/clip.webm",
            expires_at: NOW + 600,
            max_bytes: Some(1_000_000),
            part: None,
        }
    }

    fn part_grant() -> UrlGrant<'static> {
        UrlGrant { part: Some(PartRef { upload_id: "0123456789abcdef0123456789abcdef", number: 2 }), ..grant() }
    }

    #[test]
    fn round_trip() {
        let signer = UrlSigner::new(b"secret");
        let sig = signer.sign(&grant());
        assert_eq!(sig.len(), 64);
        assert!(sig.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_eq!(signer.verify(&grant(), &sig, NOW), Ok(()));
        let get = UrlGrant { method: Method::Get, max_bytes: None, ..grant() };
        assert_eq!(signer.verify(&get, &signer.sign(&get), NOW), Ok(()));
    }

    #[test]
    fn signature_is_deterministic_and_depends_on_the_secret() {
        let a = UrlSigner::new(b"secret");
        assert_eq!(a.sign(&grant()), a.sign(&grant()));
        let b = UrlSigner::new(b"other secret");
        assert_ne!(a.sign(&grant()), b.sign(&grant()));
        assert_eq!(b.verify(&grant(), &a.sign(&grant()), NOW), Err(SignatureError::Invalid));
    }

    #[test]
    fn any_tampered_field_is_invalid() {
        let signer = UrlSigner::new(b"secret");
        let sig = signer.sign(&grant());
        let tampered = [
            UrlGrant { key: "abc/other.webm", ..grant() },
            UrlGrant { bucket: Bucket::Previews, ..grant() },
            UrlGrant { method: Method::Get, ..grant() },
            UrlGrant { max_bytes: Some(1_000_001), ..grant() },
            UrlGrant { max_bytes: None, ..grant() },
            UrlGrant { expires_at: NOW + 601, ..grant() },
        ];
        for t in tampered {
            assert_eq!(signer.verify(&t, &sig, NOW), Err(SignatureError::Invalid), "{t:?}");
        }
        let mut flipped = sig.clone().into_bytes();
        flipped[10] = if flipped[10] == b'0' { b'1' } else { b'0' };
        let flipped = String::from_utf8(flipped).unwrap();
        assert_eq!(signer.verify(&grant(), &flipped, NOW), Err(SignatureError::Invalid));
        assert_eq!(signer.verify(&grant(), &sig[..62], NOW), Err(SignatureError::Invalid));
        assert_eq!(signer.verify(&grant(), "", NOW), Err(SignatureError::Invalid));
    }

    #[test]
    fn a_part_url_covers_its_upload_and_part_number() {
        let signer = UrlSigner::new(b"secret");
        let sig = signer.sign(&part_grant());
        assert_eq!(signer.verify(&part_grant(), &sig, NOW), Ok(()));
        let other_upload = PartRef { upload_id: "ffffffffffffffffffffffffffffffff", number: 2 };
        let other_part = PartRef { upload_id: "0123456789abcdef0123456789abcdef", number: 3 };
        for t in [
            grant(),
            UrlGrant { part: Some(other_upload), ..part_grant() },
            UrlGrant { part: Some(other_part), ..part_grant() },
            UrlGrant { max_bytes: Some(1), ..part_grant() },
        ] {
            assert_eq!(signer.verify(&t, &sig, NOW), Err(SignatureError::Invalid), "{t:?}");
        }
        // Nor is a whole-object URL good for a part.
        assert_eq!(signer.verify(&part_grant(), &signer.sign(&grant()), NOW), Err(SignatureError::Invalid));
    }

    #[test]
    fn non_hex_signature_is_invalid() {
        let signer = UrlSigner::new(b"secret");
        let bad = "zz".repeat(32);
        assert_eq!(signer.verify(&grant(), &bad, NOW), Err(SignatureError::Invalid));
        assert_eq!(signer.verify(&grant(), "not hex at all", NOW), Err(SignatureError::Invalid));
    }

    #[test]
    fn expired_at_and_after_expiry() {
        let signer = UrlSigner::new(b"secret");
        let g = grant();
        let sig = signer.sign(&g);
        assert_eq!(signer.verify(&g, &sig, g.expires_at - 1), Ok(()));
        assert_eq!(signer.verify(&g, &sig, g.expires_at), Err(SignatureError::Expired));
        assert_eq!(signer.verify(&g, &sig, g.expires_at + 1), Err(SignatureError::Expired));
        // A bad signature on an expired URL is reported as invalid, not expired.
        assert_eq!(signer.verify(&g, &"0".repeat(64), g.expires_at + 1), Err(SignatureError::Invalid));
    }
}
