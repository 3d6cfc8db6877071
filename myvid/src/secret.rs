//! The key that signs object URLs, created once per data directory and kept there so
//! URLs stay valid across restarts.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};

/// Length of the signing key in bytes (HMAC-SHA256 uses a 256-bit key).
pub const KEY_LEN: usize = 32;

/// Reads the key at `path`, or creates it (owner-only permissions) if absent.
pub fn load_or_create(path: &Path) -> anyhow::Result<Vec<u8>> {
    match std::fs::read(path) {
        Ok(key) if key.len() == KEY_LEN => return Ok(key),
        Ok(key) => {
            bail!("{} holds {} bytes, expected {KEY_LEN}; remove it to make a new key", path.display(), key.len())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
    let mut key = vec![0u8; KEY_LEN];
    rand_bytes(&mut key)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(&key)?;
    file.sync_all()?;
    Ok(key)
}

fn rand_bytes(buf: &mut [u8]) -> anyhow::Result<()> {
    let mut file = std::fs::File::open("/dev/urandom").context("cannot open /dev/urandom")?;
    std::io::Read::read_exact(&mut file, buf).context("cannot read /dev/urandom")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing.key");
        let first = load_or_create(&path).unwrap();
        assert_eq!(first.len(), KEY_LEN);
        assert_eq!(load_or_create(&path).unwrap(), first);
        std::fs::write(&path, b"short").unwrap();
        assert!(load_or_create(&path).unwrap_err().to_string().contains("expected 32"));
    }
}
