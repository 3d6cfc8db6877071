//! Checking what ffmpeg left in the output directory before anything is uploaded
//! (docs/plans/transcoding.md §3e), and listing the files to upload.
//!
//! The checks read files only through two functions passed in (read a playlist, size
//! of a file), so they run on an in-memory directory in the tests.
//!
//! - `master.m3u8` lists exactly the planned rungs, in order, as `{rung}/index.m3u8`,
//!   each with `BANDWIDTH` and the planned `RESOLUTION`;
//! - every media playlist is complete (see [`myvid_core::hls::parse_media`]) and every
//!   file it names exists, is not empty, and is named once;
//! - every rung covers at least 90 % of the expected duration: a truncated WebM is
//!   decoded "successfully" up to where it stops, and only this catches it.

use std::collections::HashSet;
use std::io;
use std::time::Duration;

use super::command::{MASTER_PLAYLIST, MEDIA_PLAYLIST};
use super::ladder::Rung;
use myvid_core::hls::{PlaylistError, parse_master, parse_media};

/// A rung as it came out: what the API shows and the quality menu offers (the
/// metadata store keeps it with the video).
pub use myvid_store::meta::Rendition;

/// A validated output directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ladder {
    /// Every file to upload, relative to the output directory with `/` separators,
    /// in upload order: each rung's init and media segments, then the rungs' playlists,
    /// then `master.m3u8` last (so a reader that finds the master finds everything).
    pub files: Vec<String>,
    /// The renditions, largest first.
    pub renditions: Vec<Rendition>,
}

/// What is wrong with an output directory.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// A file could not be read (usually: ffmpeg did not write it).
    #[error("{file}: {source}")]
    Unreadable {
        /// The file, relative to the output directory.
        file: String,
        /// Why.
        source: io::Error,
    },
    /// A file is empty.
    #[error("{file} is empty")]
    Empty {
        /// The file, relative to the output directory.
        file: String,
    },
    /// A playlist is malformed.
    #[error("{file}: {source}")]
    Playlist {
        /// The playlist, relative to the output directory.
        file: String,
        /// What is wrong with it.
        source: PlaylistError,
    },
    /// The master does not list the planned rungs.
    #[error("the master playlist lists {found:?}, expected {expected:?}")]
    Variants {
        /// The planned media playlists.
        expected: Vec<String>,
        /// The listed ones.
        found: Vec<String>,
    },
    /// A rung does not have its planned size.
    #[error("{rung} is {found_width}x{found_height}, expected {width}x{height}")]
    Resolution {
        /// The rung.
        rung: String,
        /// Planned width.
        width: u32,
        /// Planned height.
        height: u32,
        /// Announced width.
        found_width: u32,
        /// Announced height.
        found_height: u32,
    },
    /// A file is named twice.
    #[error("{file} is listed twice")]
    Duplicate {
        /// The file, relative to the output directory.
        file: String,
    },
    /// A rung is much shorter than the source.
    #[error("the output covers {:.1} s of the expected {:.1} s", .covered.as_secs_f64(), .expected.as_secs_f64())]
    TooShort {
        /// The rung.
        rung: String,
        /// Its total `EXTINF` duration.
        covered: Duration,
        /// The source's duration.
        expected: Duration,
    },
}

/// The share of the expected duration every rung must cover, in percent.
pub const MIN_COVERAGE_PERCENT: u32 = 90;

/// Checks the output of `rungs` for a source lasting `expected` (zero: unknown, not
/// checked) and lists what to upload. `read` returns a playlist's text and `size` a
/// file's length, both given a path relative to the output directory.
pub fn validate(
    rungs: &[Rung],
    expected: Duration,
    mut read: impl FnMut(&str) -> io::Result<String>,
    mut size: impl FnMut(&str) -> io::Result<u64>,
) -> Result<Ladder, OutputError> {
    let master_text = read(MASTER_PLAYLIST).map_err(|source| unreadable(MASTER_PLAYLIST, source))?;
    let master =
        parse_master(&master_text).map_err(|source| OutputError::Playlist { file: MASTER_PLAYLIST.into(), source })?;
    let expected_uris: Vec<String> = rungs.iter().map(|r| format!("{}/{MEDIA_PLAYLIST}", r.name)).collect();
    let found_uris: Vec<String> = master.variants.iter().map(|v| v.uri.clone()).collect();
    if found_uris != expected_uris {
        return Err(OutputError::Variants { expected: expected_uris, found: found_uris });
    }

    let mut media_files = Vec::new();
    let mut renditions = Vec::new();
    let mut seen = HashSet::new();
    for ((rung, variant), playlist) in rungs.iter().zip(&master.variants).zip(&expected_uris) {
        let announced = variant.resolution;
        if (announced.width, announced.height) != (rung.width, rung.height) {
            return Err(OutputError::Resolution {
                rung: rung.name.clone(),
                width: rung.width,
                height: rung.height,
                found_width: announced.width,
                found_height: announced.height,
            });
        }
        let text = read(playlist).map_err(|source| unreadable(playlist, source))?;
        let media = parse_media(&text).map_err(|source| OutputError::Playlist { file: playlist.clone(), source })?;
        let covered = media.total_duration();
        if !expected.is_zero() && covered.as_micros() * 100 < expected.as_micros() * u128::from(MIN_COVERAGE_PERCENT) {
            return Err(OutputError::TooShort { rung: rung.name.clone(), covered, expected });
        }
        let uris = std::iter::once(&media.map_uri).chain(media.segments.iter().map(|s| &s.uri));
        for uri in uris {
            let file = format!("{}/{uri}", rung.name);
            if !seen.insert(file.clone()) {
                return Err(OutputError::Duplicate { file });
            }
            match size(&file) {
                Ok(0) => return Err(OutputError::Empty { file }),
                Ok(_) => media_files.push(file),
                Err(source) => return Err(unreadable(&file, source)),
            }
        }
        renditions.push(Rendition {
            name: rung.name.clone(),
            width: rung.width,
            height: rung.height,
            bandwidth: variant.bandwidth,
        });
    }
    let mut files = media_files;
    files.extend(expected_uris);
    files.push(MASTER_PLAYLIST.to_owned());
    Ok(Ladder { files, renditions })
}

fn unreadable(file: &str, source: io::Error) -> OutputError {
    OutputError::Unreadable { file: file.to_owned(), source }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcode::ladder::plan;
    use myvid_core::hls::examples::{MASTER, MEDIA};
    use std::collections::HashMap;

    /// The CI clip's output as ffmpeg 5.1 writes it, in memory.
    fn directory() -> HashMap<String, String> {
        let mut files = HashMap::new();
        files.insert("master.m3u8".to_owned(), MASTER.to_owned());
        files.insert("480p/index.m3u8".to_owned(), MEDIA.to_owned());
        files.insert("360p/index.m3u8".to_owned(), MEDIA.replace("init_0", "init_1"));
        for rung in ["480p", "360p"] {
            for name in ["init_0.mp4", "init_1.mp4", "s00000.m4s", "s00001.m4s", "s00002.m4s"] {
                files.insert(format!("{rung}/{name}"), "data".to_owned());
            }
        }
        files
    }

    fn check(files: &HashMap<String, String>, expected: Duration) -> Result<Ladder, OutputError> {
        let missing = || io::Error::from(io::ErrorKind::NotFound);
        validate(
            &plan(640, 480, 0),
            expected,
            |f| files.get(f).cloned().ok_or_else(missing),
            |f| files.get(f).map(|t| t.len() as u64).ok_or_else(missing),
        )
    }

    #[test]
    fn lists_segments_then_playlists_then_the_master() {
        let ladder = check(&directory(), Duration::from_secs(6)).unwrap();
        assert_eq!(
            ladder.files,
            [
                "480p/init_0.mp4",
                "480p/s00000.m4s",
                "480p/s00001.m4s",
                "480p/s00002.m4s",
                "360p/init_1.mp4",
                "360p/s00000.m4s",
                "360p/s00001.m4s",
                "360p/s00002.m4s",
                "480p/index.m3u8",
                "360p/index.m3u8",
                "master.m3u8",
            ]
        );
        assert_eq!(
            ladder.renditions,
            [
                Rendition { name: "480p".into(), width: 640, height: 480, bandwidth: 1_460_800 },
                Rendition { name: "360p".into(), width: 480, height: 360, bandwidth: 1_020_800 },
            ]
        );
    }

    #[test]
    fn a_short_output_is_refused_with_a_readable_reason() {
        // 5.97 s of 6 s passes; of 6.7 s it does not (89 %).
        assert!(check(&directory(), Duration::from_millis(6_600)).is_ok());
        let error = check(&directory(), Duration::from_millis(6_700)).unwrap_err();
        assert_eq!(error.to_string(), "the output covers 6.0 s of the expected 6.7 s");
        assert!(check(&directory(), Duration::ZERO).is_ok(), "an unknown duration is not checked");
    }

    #[test]
    fn missing_empty_or_unexpected_files_are_refused() {
        let mut files = directory();
        files.remove("360p/s00001.m4s");
        let error = check(&files, Duration::from_secs(6)).unwrap_err();
        assert!(matches!(&error, OutputError::Unreadable { file, .. } if file == "360p/s00001.m4s"), "{error}");

        let mut files = directory();
        files.insert("480p/init_0.mp4".into(), String::new());
        assert!(matches!(check(&files, Duration::from_secs(6)), Err(OutputError::Empty { .. })));

        let mut files = directory();
        files.remove("master.m3u8");
        assert_eq!(
            check(&files, Duration::from_secs(6)).unwrap_err().to_string().split(':').next(),
            Some("master.m3u8")
        );

        let mut files = directory();
        files.insert("master.m3u8".into(), MASTER.replace("480x360", "480x362"));
        assert_eq!(check(&files, Duration::from_secs(6)).unwrap_err().to_string(), "360p is 480x362, expected 480x360");

        let mut files = directory();
        let only_480 = MASTER.split("#EXT-X-STREAM-INF:BANDWIDTH=1020800").next().unwrap().to_owned();
        files.insert("master.m3u8".into(), only_480);
        assert!(matches!(check(&files, Duration::from_secs(6)), Err(OutputError::Variants { .. })));

        let mut files = directory();
        files.insert("480p/index.m3u8".into(), MEDIA.replace("s00001.m4s", "s00000.m4s"));
        assert!(matches!(check(&files, Duration::from_secs(6)), Err(OutputError::Duplicate { .. })));

        let mut files = directory();
        files.insert("480p/index.m3u8".into(), MEDIA.replace("#EXT-X-ENDLIST\n", ""));
        let error = check(&files, Duration::from_secs(6)).unwrap_err();
        assert_eq!(error.to_string(), "480p/index.m3u8: no EXT-X-ENDLIST (the playlist is incomplete)");
    }
}
