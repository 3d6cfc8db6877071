//! HLS playlists as the transcode worker writes them: read back (and checked) before
//! anything is uploaded, and rewritten when the API serves them (`/playback/hls/…`).
//!
//! This is not a general HLS parser: it accepts what our command produces (a master
//! playlist of `EXT-X-STREAM-INF` variants; VOD fMP4 media playlists with one
//! `EXT-X-MAP`, `EXTINF` segments and `EXT-X-ENDLIST`) and refuses anything that could
//! make the uploader or a player reach outside the rung's files: every URI must be a
//! plain name or `dir/name` made of `[A-Za-z0-9._-]`, never `.` or `..`, never
//! absolute, never a URL.

mod attributes;
mod rewrite;

use std::time::Duration;

pub use rewrite::rewrite_media_playlist;

/// Why a playlist was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{problem}", if *line > 0 { format!("line {line}: ") } else { String::new() })]
pub struct PlaylistError {
    /// The 1-based line at fault, or 0 for the playlist as a whole.
    pub line: usize,
    /// What is wrong, for a person.
    pub problem: String,
}

impl PlaylistError {
    fn at(line: usize, problem: impl Into<String>) -> Self {
        PlaylistError { line, problem: problem.into() }
    }
}

/// A picture size from a `RESOLUTION` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolution {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// One `EXT-X-STREAM-INF` entry of a master playlist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    /// Peak bits per second the variant needs (`BANDWIDTH`).
    pub bandwidth: u64,
    /// The picture size (`RESOLUTION`).
    pub resolution: Resolution,
    /// The `CODECS` string, if given (`avc1.42c016,mp4a.40.2`).
    pub codecs: Option<String>,
    /// The media playlist, relative to the master (`480p/index.m3u8`).
    pub uri: String,
}

/// A master playlist: its variants in the order written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterPlaylist {
    /// At least one.
    pub variants: Vec<Variant>,
}

/// One media segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Its `EXTINF` duration.
    pub duration: Duration,
    /// Its file, relative to the media playlist (`s00000.m4s`).
    pub uri: String,
}

/// A complete VOD fMP4 media playlist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaPlaylist {
    /// The initialization segment (`EXT-X-MAP:URI`), relative to the playlist.
    pub map_uri: String,
    /// The segments, at least one, in playback order.
    pub segments: Vec<Segment>,
}

impl MediaPlaylist {
    /// The sum of the segments' `EXTINF` durations: how much media the rung holds.
    pub fn total_duration(&self) -> Duration {
        self.segments.iter().fold(Duration::ZERO, |sum, s| sum.saturating_add(s.duration))
    }
}

/// Whether `uri` is a name we accept: `name` or `dir/name`, each part made of
/// `[A-Za-z0-9._-]`, at most 128 bytes, and not only dots.
pub fn is_safe_relative_uri(uri: &str) -> bool {
    let part_ok = |part: &str| {
        !part.is_empty()
            && part.len() <= 128
            && part.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
            && !part.bytes().all(|b| b == b'.')
    };
    match uri.split_once('/') {
        Some((dir, name)) => part_ok(dir) && part_ok(name),
        None => part_ok(uri),
    }
}

/// The lines of a playlist, numbered from 1, after checking that it starts with
/// `#EXTM3U`. Blank lines are skipped.
fn lines(text: &str) -> Result<impl Iterator<Item = (usize, &str)>, PlaylistError> {
    if text.lines().next().map(str::trim_end) != Some("#EXTM3U") {
        return Err(PlaylistError::at(1, "not an M3U8 playlist (no #EXTM3U)"));
    }
    Ok(text.lines().enumerate().skip(1).map(|(i, l)| (i + 1, l.trim_end())).filter(|(_, l)| !l.is_empty()))
}

/// A URI, checked.
fn safe_uri(line: usize, uri: &str) -> Result<String, PlaylistError> {
    if is_safe_relative_uri(uri) {
        Ok(uri.to_owned())
    } else {
        Err(PlaylistError::at(line, format!("URI {:?} is not a plain relative file name", truncated(uri))))
    }
}

/// At most 60 characters of `s`, for messages.
fn truncated(s: &str) -> String {
    s.chars().take(60).collect()
}

/// The attributes of a tag's value, or an error naming the line.
fn attributes_of(line: usize, list: &str) -> Result<Vec<attributes::Attribute<'_>>, PlaylistError> {
    attributes::parse(list).ok_or_else(|| PlaylistError::at(line, "malformed attribute list"))
}

/// Reads a master playlist; every variant needs `BANDWIDTH` and `RESOLUTION` and a
/// safe URI, and any other tag's `URI` attribute must be safe too.
pub fn parse_master(text: &str) -> Result<MasterPlaylist, PlaylistError> {
    let mut variants = Vec::new();
    let mut pending: Option<(u64, Resolution, Option<String>)> = None;
    for (n, line) in lines(text)? {
        if let Some(list) = line.strip_prefix("#EXT-X-STREAM-INF:") {
            if pending.is_some() {
                return Err(PlaylistError::at(n, "EXT-X-STREAM-INF without a URI before it"));
            }
            let attrs = attributes_of(n, list)?;
            let bandwidth = attributes::find(&attrs, "BANDWIDTH")
                .and_then(|a| a.value().parse::<u64>().ok())
                .filter(|&b| b > 0)
                .ok_or_else(|| PlaylistError::at(n, "variant without a positive BANDWIDTH"))?;
            let resolution = attributes::find(&attrs, "RESOLUTION")
                .and_then(|a| resolution(a.value()))
                .ok_or_else(|| PlaylistError::at(n, "variant without a RESOLUTION"))?;
            let codecs = attributes::find(&attrs, "CODECS").map(|a| a.value().to_owned());
            pending = Some((bandwidth, resolution, codecs));
        } else if let Some(list) = line.strip_prefix('#').and_then(|tag| tag.split_once(':')).map(|(_, l)| l) {
            if list.contains("URI=") {
                let attrs = attributes_of(n, list)?;
                if let Some(uri) = attributes::find(&attrs, "URI") {
                    safe_uri(n, uri.value())?;
                }
            }
        } else if !line.starts_with('#') {
            let (bandwidth, resolution, codecs) =
                pending.take().ok_or_else(|| PlaylistError::at(n, "URI without EXT-X-STREAM-INF"))?;
            variants.push(Variant { bandwidth, resolution, codecs, uri: safe_uri(n, line)? });
        }
    }
    if pending.is_some() {
        return Err(PlaylistError::at(0, "the last EXT-X-STREAM-INF has no URI"));
    }
    if variants.is_empty() {
        return Err(PlaylistError::at(0, "no variants"));
    }
    Ok(MasterPlaylist { variants })
}

/// Reads a VOD fMP4 media playlist: one `EXT-X-MAP` with a safe URI, at least one
/// segment, each `EXTINF` followed by a safe URI, and `EXT-X-ENDLIST` (without it the
/// rung was cut short). Byte ranges are refused: every URI must be a whole file.
pub fn parse_media(text: &str) -> Result<MediaPlaylist, PlaylistError> {
    let mut map_uri = None;
    let mut segments = Vec::new();
    let mut pending: Option<Duration> = None;
    let mut ended = false;
    for (n, line) in lines(text)? {
        if ended {
            return Err(PlaylistError::at(n, "content after EXT-X-ENDLIST"));
        }
        if let Some(list) = line.strip_prefix("#EXT-X-MAP:") {
            let attrs = attributes_of(n, list)?;
            if map_uri.is_some() {
                return Err(PlaylistError::at(n, "more than one EXT-X-MAP"));
            }
            if attributes::find(&attrs, "BYTERANGE").is_some() {
                return Err(PlaylistError::at(n, "byte ranges are not expected"));
            }
            let uri = attributes::find(&attrs, "URI")
                .filter(attributes::Attribute::is_quoted)
                .ok_or_else(|| PlaylistError::at(n, "EXT-X-MAP without a quoted URI"))?;
            map_uri = Some(safe_uri(n, uri.value())?);
        } else if let Some(value) = line.strip_prefix("#EXTINF:") {
            if pending.is_some() {
                return Err(PlaylistError::at(n, "EXTINF without a URI before it"));
            }
            let seconds = value.split_once(',').map_or(value, |(d, _)| d);
            pending = Some(decimal_seconds(seconds).ok_or_else(|| PlaylistError::at(n, "bad EXTINF duration"))?);
        } else if line.starts_with("#EXT-X-BYTERANGE") {
            return Err(PlaylistError::at(n, "byte ranges are not expected"));
        } else if line == "#EXT-X-ENDLIST" {
            ended = true;
        } else if !line.starts_with('#') {
            let duration = pending.take().ok_or_else(|| PlaylistError::at(n, "URI without EXTINF"))?;
            segments.push(Segment { duration, uri: safe_uri(n, line)? });
        }
    }
    if pending.is_some() {
        return Err(PlaylistError::at(0, "the last EXTINF has no URI"));
    }
    let map_uri = map_uri.ok_or_else(|| PlaylistError::at(0, "no EXT-X-MAP (not an fMP4 playlist)"))?;
    if segments.is_empty() {
        return Err(PlaylistError::at(0, "no segments"));
    }
    if !ended {
        return Err(PlaylistError::at(0, "no EXT-X-ENDLIST (the playlist is incomplete)"));
    }
    Ok(MediaPlaylist { map_uri, segments })
}

/// `640x480` → 640 × 480 (both sides positive).
fn resolution(value: &str) -> Option<Resolution> {
    let (w, h) = value.split_once('x')?;
    let side = |s: &str| s.parse::<u32>().ok().filter(|&n| n > 0 && s.bytes().all(|b| b.is_ascii_digit()));
    Some(Resolution { width: side(w)?, height: side(h)? })
}

/// A non-negative decimal number of seconds (`2`, `2.000000`, `1.96`) at microsecond
/// precision (further digits are dropped), at most a day: no float rounding, no
/// exponents, no signs.
fn decimal_seconds(text: &str) -> Option<Duration> {
    const MAX_SECONDS: u64 = 24 * 3600;
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || whole.len() > 6 || !digits(whole) || !digits(fraction) {
        return None;
    }
    let seconds: u64 = whole.parse().ok()?;
    let micros =
        fraction.bytes().chain(std::iter::repeat(b'0')).take(6).fold(0u64, |n, b| n * 10 + u64::from(b - b'0'));
    (seconds <= MAX_SECONDS).then(|| Duration::from_secs(seconds) + Duration::from_micros(micros))
}

/// Playlists as ffmpeg 5.1 writes them for a two-rung ladder (480p, 360p) of a 6 s clip:
/// examples for tests here and in the worker.
pub mod examples {
    /// A master playlist as ffmpeg 5.1 writes it for the CI clip.
    pub const MASTER: &str = "#EXTM3U\n#EXT-X-VERSION:7\n\
        #EXT-X-STREAM-INF:BANDWIDTH=1460800,RESOLUTION=640x480,CODECS=\"avc1.42c016,mp4a.40.2\"\n480p/index.m3u8\n\n\
        #EXT-X-STREAM-INF:BANDWIDTH=1020800,RESOLUTION=480x360,CODECS=\"avc1.42c015,mp4a.40.2\"\n360p/index.m3u8\n\n";

    /// A media playlist as ffmpeg 5.1 writes it for the CI clip.
    pub const MEDIA: &str = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n\
        #EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MAP:URI=\"init_0.mp4\"\n\
        #EXTINF:2.000000,\ns00000.m4s\n#EXTINF:2.000000,\ns00001.m4s\n#EXTINF:1.966667,\ns00002.m4s\n#EXT-X-ENDLIST\n";
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) use super::examples::{MASTER, MEDIA};

    #[test]
    fn reads_ffmpegs_master_playlist() {
        let master = parse_master(MASTER).unwrap();
        assert_eq!(
            master.variants,
            [
                Variant {
                    bandwidth: 1_460_800,
                    resolution: Resolution { width: 640, height: 480 },
                    codecs: Some("avc1.42c016,mp4a.40.2".into()),
                    uri: "480p/index.m3u8".into(),
                },
                Variant {
                    bandwidth: 1_020_800,
                    resolution: Resolution { width: 480, height: 360 },
                    codecs: Some("avc1.42c015,mp4a.40.2".into()),
                    uri: "360p/index.m3u8".into(),
                },
            ]
        );
    }

    #[test]
    fn reads_ffmpegs_media_playlist_and_sums_its_durations() {
        let media = parse_media(MEDIA).unwrap();
        assert_eq!(media.map_uri, "init_0.mp4");
        let uris: Vec<_> = media.segments.iter().map(|s| s.uri.as_str()).collect();
        assert_eq!(uris, ["s00000.m4s", "s00001.m4s", "s00002.m4s"]);
        assert_eq!(media.total_duration(), Duration::from_micros(5_966_667));
        // CRLF line endings are read the same.
        assert_eq!(parse_media(&MEDIA.replace('\n', "\r\n")).unwrap(), media);
    }

    #[test]
    fn refuses_unsafe_uris_everywhere() {
        for uri in ["../x.m4s", "/etc/passwd", "https://evil/x.m4s", "a/b/c.m4s", "..", "a/..", "s 1.m4s", "", "a\\b"] {
            assert!(!is_safe_relative_uri(uri), "{uri:?}");
            let segment = MEDIA.replace("s00001.m4s", uri);
            if !uri.is_empty() {
                assert!(parse_media(&segment).is_err(), "{uri:?} as a segment");
            }
            let map = MEDIA.replace("init_0.mp4", uri);
            assert!(parse_media(&map).is_err(), "{uri:?} as the map");
            let variant = MASTER.replace("360p/index.m3u8", uri);
            if !uri.is_empty() {
                assert!(parse_master(&variant).is_err(), "{uri:?} as a variant");
            }
        }
        for uri in ["init_0.mp4", "480p/index.m3u8", "s00000.m4s", "a-b_c.d"] {
            assert!(is_safe_relative_uri(uri), "{uri:?}");
        }
        let media_tag = MASTER.replace(
            "#EXT-X-VERSION:7",
            "#EXT-X-VERSION:7\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",NAME=\"a\",URI=\"../a.m3u8\"",
        );
        assert!(parse_master(&media_tag).is_err());
    }

    #[test]
    fn refuses_incomplete_or_odd_media_playlists() {
        let cases = [
            MEDIA.replace("#EXT-X-ENDLIST\n", ""),
            MEDIA.replace("#EXT-X-MAP:URI=\"init_0.mp4\"\n", ""),
            MEDIA.replace("#EXTM3U\n", ""),
            MEDIA.replace("#EXTINF:2.000000,\ns00000.m4s\n", "s00000.m4s\n"),
            MEDIA.replace("#EXTINF:1.966667,", "#EXTINF:-1,"),
            MEDIA.replace("#EXTINF:1.966667,", "#EXTINF:1e3,"),
            MEDIA.replace("#EXTINF:1.966667,", "#EXTINF:NaN,"),
            MEDIA.replace("#EXT-X-ENDLIST\n", "#EXT-X-ENDLIST\ns9.m4s\n"),
            MEDIA.replace("#EXT-X-MAP:URI=\"init_0.mp4\"", "#EXT-X-MAP:URI=\"init_0.mp4\",BYTERANGE=\"10@0\""),
            MEDIA.replace("s00002.m4s\n", ""),
            MEDIA.replace("URI=\"init_0.mp4\"", "URI=init_0.mp4"),
            "#EXTM3U\n#EXT-X-MAP:URI=\"i.mp4\"\n#EXT-X-ENDLIST\n".to_owned(),
        ];
        for case in cases {
            assert!(parse_media(&case).is_err(), "{case}");
        }
    }

    #[test]
    fn refuses_variants_without_bandwidth_or_resolution() {
        assert!(parse_master(&MASTER.replace("BANDWIDTH=1460800,", "")).is_err());
        assert!(parse_master(&MASTER.replace("RESOLUTION=640x480,", "")).is_err());
        assert!(parse_master(&MASTER.replace("640x480", "640x")).is_err());
        assert!(parse_master("#EXTM3U\n#EXT-X-VERSION:7\n").is_err(), "ffmpeg's master without bitrates");
        let error = parse_master("#EXTM3U\n#EXT-X-VERSION:7\n").unwrap_err();
        assert_eq!(error.to_string(), "no variants");
        let error = parse_master("#EXTM3U\nx.m3u8\n").unwrap_err();
        assert_eq!(error.to_string(), "line 2: URI without EXT-X-STREAM-INF");
    }

    #[test]
    fn decimal_seconds_are_exact() {
        assert_eq!(decimal_seconds("2"), Some(Duration::from_secs(2)));
        assert_eq!(decimal_seconds("2.000000"), Some(Duration::from_secs(2)));
        assert_eq!(decimal_seconds("0.0333339"), Some(Duration::from_micros(33_333)));
        for bad in ["", ".5", "-1", "+1", "1e3", "1.2.3", "inf", "86401", "9999999"] {
            assert_eq!(decimal_seconds(bad), None, "{bad}");
        }
    }

    proptest! {
        #[test]
        fn parsers_never_panic(text in any::<String>()) {
            let _ = parse_master(&text);
            let _ = parse_media(&text);
            let _ = parse_media(&format!("#EXTM3U\n{text}"));
        }

        #[test]
        fn parsers_never_panic_on_playlist_like_text(lines in prop::collection::vec(
            prop_oneof![
                Just("#EXTM3U".to_owned()),
                "#EXTINF:[0-9.,-]{0,10}",
                "#EXT-X-MAP:URI=\"[a-z0-9./]{0,12}\"",
                "#EXT-X-STREAM-INF:BANDWIDTH=[0-9]{1,8},RESOLUTION=[0-9x]{0,9}",
                "[a-z0-9./_-]{1,16}",
                Just("#EXT-X-ENDLIST".to_owned()),
            ],
            0..24,
        )) {
            let text = lines.join("\n");
            let _ = parse_master(&text);
            if let Ok(media) = parse_media(&text) {
                prop_assert!(is_safe_relative_uri(&media.map_uri));
                prop_assert!(media.segments.iter().all(|s| is_safe_relative_uri(&s.uri)));
            }
        }
    }
}
