//! `myvid import FILE`: loads a JSON catalogue of external videos (title,
//! description, media URL, optional preview URL and duration) as public `HTTP`
//! entries. Ids derive from the URL, so importing a file twice adds nothing.
//!
//! ```json
//! [{"title": "…", "description": "…", "url": "https://…/talk.mp4",
//!   "preview_url": "https://…/talk.jpg", "duration_seconds": 1800}]
//! ```

use std::path::Path;

use anyhow::{Context, bail};
use myvid_core::ids::import_id;
use myvid_core::limits::{self, MAX_DESCRIPTION_CHARS, MAX_TITLE_CHARS};
use myvid_store::MetaStore;
use myvid_store::meta::{NewVideo, VideoSource, Visibility};
use serde::Deserialize;

/// Largest catalogue file read (64 MiB is hundreds of thousands of entries).
pub const MAX_CATALOGUE_BYTES: u64 = 64 << 20;
/// Longest accepted media or preview URL.
const MAX_URL_CHARS: usize = 2048;

/// One catalogue entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Title.
    pub title: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// The media URL (http or https).
    pub url: String,
    /// A preview image URL.
    pub preview_url: Option<String>,
    /// Length in seconds.
    pub duration_seconds: Option<f64>,
}

fn check_url(field: &str, index: usize, url: &str) -> anyhow::Result<String> {
    let url = url.trim();
    let ok = (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() <= MAX_URL_CHARS
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if !ok {
        bail!("entry {index}: `{field}` must be an http(s) URL of at most {MAX_URL_CHARS} characters, got {url:?}");
    }
    Ok(url.to_owned())
}

/// Turns entries into video records, naming the first bad entry (0-based).
pub fn to_videos(entries: Vec<Entry>, now: i64) -> anyhow::Result<Vec<NewVideo>> {
    entries
        .into_iter()
        .enumerate()
        .map(|(i, entry)| {
            let title = limits::text("title", &entry.title, MAX_TITLE_CHARS, true, false)
                .map_err(|e| anyhow::anyhow!("entry {i}: {}", e.message))?;
            let description = limits::text("description", &entry.description, MAX_DESCRIPTION_CHARS, false, true)
                .map_err(|e| anyhow::anyhow!("entry {i}: {}", e.message))?;
            let url = check_url("url", i, &entry.url)?;
            let preview_url = entry.preview_url.as_deref().map(|u| check_url("preview_url", i, u)).transpose()?;
            let duration_ms = match entry.duration_seconds {
                None => None,
                // Bounded to a day above, so the cast cannot overflow.
                #[allow(clippy::cast_possible_truncation)]
                Some(s) if s.is_finite() && (0.0..=86_400.0 * 7.0).contains(&s) => Some((s * 1000.0).round() as i64),
                Some(s) => bail!("entry {i}: `duration_seconds` must be between 0 and 604800, got {s}"),
            };
            Ok(NewVideo {
                id: import_id(&url),
                owner_id: None,
                title,
                description,
                source: VideoSource::External { url, preview_url },
                visibility: Visibility::Public,
                duration_ms,
                created_at: now,
            })
        })
        .collect()
}

/// Reads `file` and imports it into `meta`. Returns (new entries, entries in file).
pub async fn import_file(meta: &dyn MetaStore, file: &Path, now: i64) -> anyhow::Result<(usize, usize)> {
    let size = std::fs::metadata(file).with_context(|| format!("cannot read {}", file.display()))?.len();
    if size > MAX_CATALOGUE_BYTES {
        bail!("{} is {size} bytes; the limit is {MAX_CATALOGUE_BYTES}", file.display());
    }
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let entries: Vec<Entry> = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a JSON array of catalogue entries", file.display()))?;
    let total = entries.len();
    let videos = to_videos(entries, now)?;
    let added = meta.import_videos(videos).await?;
    Ok((added, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(url: &str) -> Entry {
        Entry {
            title: "Talk".into(),
            description: String::new(),
            url: url.into(),
            preview_url: None,
            duration_seconds: Some(1.5),
        }
    }

    #[test]
    fn entries_are_checked() {
        let videos = to_videos(vec![entry("https://example.org/a.mp4")], 7).unwrap();
        assert_eq!(videos[0].duration_ms, Some(1500));
        assert_eq!(videos[0].visibility, Visibility::Public);
        let err = to_videos(vec![entry("https://example.org/a.mp4"), entry("javascript:alert(1)")], 7).unwrap_err();
        assert!(err.to_string().contains("entry 1"), "{err}");
        let mut no_title = entry("https://example.org/b.mp4");
        no_title.title = " ".into();
        assert!(to_videos(vec![no_title], 7).unwrap_err().to_string().contains("title"));
    }
}
