//! Listing the keys under a prefix of one bucket directory: a walk of the directory
//! the prefix names (its part up to the last `/`), keeping the files whose key starts
//! with the prefix. Only valid keys are objects: anything else on disk is not listed.

use std::path::Path;

use crate::error::{Result, from_io};
use crate::objects::valid_key;

/// Most keys one call returns.
const MAX_LIMIT: u32 = 1000;

/// Keys of `bucket_dir` starting with `prefix`, sorted, after `after`, at most `limit`.
pub(super) fn keys_under(bucket_dir: &Path, prefix: &str, after: Option<&str>, limit: u32) -> Result<Vec<String>> {
    let base = prefix.rsplit_once('/').map_or("", |(dir, _)| dir);
    if !base.is_empty() && !valid_key(base) {
        return Ok(Vec::new());
    }
    let mut keys = Vec::new();
    walk(&bucket_dir.join(base), base, &mut keys)?;
    keys.retain(|k| k.starts_with(prefix) && after.is_none_or(|a| k.as_str() > a) && valid_key(k));
    keys.sort_unstable();
    keys.truncate(limit.clamp(1, MAX_LIMIT) as usize);
    Ok(keys)
}

/// Adds the key of every file under `dir` (whose key prefix is `key`) to `keys`.
fn walk(dir: &Path, key: &str, keys: &mut Vec<String>) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(from_io(e)),
    };
    for entry in entries {
        let entry = entry.map_err(from_io)?;
        let Ok(name) = entry.file_name().into_string() else { continue };
        let child = if key.is_empty() { name } else { format!("{key}/{name}") };
        let kind = entry.file_type().map_err(from_io)?;
        if kind.is_dir() {
            walk(&entry.path(), &child, keys)?;
        } else if kind.is_file() {
            keys.push(child);
        }
    }
    Ok(())
}
