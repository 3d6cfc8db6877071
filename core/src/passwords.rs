//! Argon2id password hashes (PHC strings, the crate's default parameters: 19 MiB,
//! 2 passes), computed on the hashing threads of [`crate::password_work`] in memory
//! each thread keeps and reuses.
//!
//! Why not `Argon2::hash_password`/`verify_password`: they allocate the 19 MiB
//! afresh for every hash (64-byte aligned, zeroed), and the allocator keeps much of it
//! as fragments: 48 verifications on two threads left ~230 MiB resident. With one
//! buffer per thread, password work costs `threads × 19 MiB`, always.

use std::cell::RefCell;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use crate::error::ApiError;
use crate::password_work;

thread_local! {
    /// This hashing thread's Argon2 memory, sized by the last parameters used.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with `blocks` blocks of this thread's Argon2 memory, then clears them
/// (they held data derived from a password).
fn with_memory<T>(blocks: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
    MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        if memory.len() != blocks {
            *memory = vec![Block::new(); blocks];
        }
        let result = f(&mut memory);
        memory.fill(Block::new());
        result
    })
}

/// Length of the salts we make (the recommended 16 bytes).
const SALT_BYTES: usize = 16;
/// Length of the hashes we make (argon2's default output, 32 bytes).
const OUTPUT_BYTES: usize = 32;

fn hash_now(password: &[u8]) -> Result<String, String> {
    let argon = Argon2::default();
    let params = argon.params().clone();
    let salt: [u8; SALT_BYTES] = rand::random();
    let mut out = [0u8; OUTPUT_BYTES];
    with_memory(params.block_count(), |memory| argon.hash_password_into_with_memory(password, &salt, &mut out, memory))
        .map_err(|e| e.to_string())?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| e.to_string())?,
        salt: Some(Salt::new(&salt).map_err(|e| e.to_string())?),
        hash: Some(Output::new(&out).map_err(|e| e.to_string())?),
    };
    Ok(phc.to_string())
}

fn verify_now(password: &[u8], stored: &str) -> Result<bool, String> {
    let phc = PasswordHash::new(stored).map_err(|e| e.to_string())?;
    let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else {
        return Err("the stored hash has no salt or no output".into());
    };
    let algorithm = Algorithm::try_from(phc.algorithm.as_str()).map_err(|e| e.to_string())?;
    let version = phc.version.map(Version::try_from).transpose().map_err(|e| e.to_string())?.unwrap_or_default();
    let params = Params::try_from(&phc).map_err(|e| e.to_string())?;
    let argon = Argon2::new(algorithm, version, params.clone());
    let mut out = vec![0u8; expected.len()];
    with_memory(params.block_count(), |memory| argon.hash_password_into_with_memory(password, salt, &mut out, memory))
        .map_err(|e| e.to_string())?;
    // `Output`'s equality is constant-time.
    Ok(Output::new(&out).map_err(|e| e.to_string())? == *expected)
}

/// A new PHC-format argon2id hash of `password`.
pub async fn hash(password: String) -> Result<String, ApiError> {
    password_work::run(move || hash_now(password.as_bytes())).await?.map_err(ApiError::internal)
}

/// Whether `password` matches the PHC hash `stored`.
pub async fn verify(password: String, stored: String) -> Result<bool, ApiError> {
    password_work::run(move || verify_now(password.as_bytes(), &stored)).await?.map_err(ApiError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_the_right_password_only() {
        let stored = hash_now(b"correct horse").unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
        assert!(verify_now(b"correct horse", &stored).unwrap());
        assert!(!verify_now(b"wrong horse", &stored).unwrap());
        assert_ne!(hash_now(b"correct horse").unwrap(), stored, "a fresh salt every time");
    }

    #[test]
    fn hashes_made_by_the_argon2_crate_itself_verify() {
        use argon2::PasswordHasher;
        let stored = Argon2::default().hash_password(b"from before").unwrap().to_string();
        assert!(verify_now(b"from before", &stored).unwrap());
        assert!(!verify_now(b"from after", &stored).unwrap());
        assert!(verify_now(b"x", "not a hash").is_err());
    }
}
