//! Replacing the URIs of a media playlist when it is served, so that each segment and
//! the init segment point straight at the object store (a presigned URL).

use super::{PlaylistError, attributes};

/// Returns `text` with every segment URI and the `EXT-X-MAP` URI replaced by
/// `uri(old)`; every other line is kept as it is. Lines end with `\n`.
///
/// Only the structure is checked (`#EXTM3U` first, a readable `EXT-X-MAP` attribute
/// list): the playlist was validated with [`super::parse_media`] before it was stored.
/// A replacement that is empty or holds a line break or a `"` is refused, since it
/// would change the playlist's structure.
pub fn rewrite_media_playlist(text: &str, mut uri: impl FnMut(&str) -> String) -> Result<String, PlaylistError> {
    if text.lines().next().map(str::trim_end) != Some("#EXTM3U") {
        return Err(PlaylistError::at(1, "not an M3U8 playlist (no #EXTM3U)"));
    }
    let mut replace = |n: usize, old: &str| {
        let new = uri(old);
        if new.is_empty() || new.contains(['\n', '\r', '"']) {
            Err(PlaylistError::at(n, "a replacement URI is empty or holds a line break or a quote"))
        } else {
            Ok(new)
        }
    };
    let mut out = String::with_capacity(text.len() * 2);
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if let Some(list) = line.strip_prefix("#EXT-X-MAP:") {
            let attrs =
                attributes::parse(list.trim_end()).ok_or_else(|| PlaylistError::at(n, "malformed attribute list"))?;
            out.push_str("#EXT-X-MAP:");
            for (k, attr) in attrs.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                if attr.name == "URI" {
                    out.push_str(&format!("URI=\"{}\"", replace(n, attr.value())?));
                } else {
                    out.push_str(&format!("{}={}", attr.name, attr.raw));
                }
            }
        } else if !line.trim().is_empty() && !line.starts_with('#') {
            out.push_str(&replace(n, line.trim_end())?);
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::parse_media;
    use super::super::tests::MEDIA;
    use super::*;
    use proptest::prelude::*;

    const PREFIX: &str = "https://s3.example/bucket/v/hls/j/a1/480p/";
    const QUERY: &str = "?X-Amz-Expires=3600&X-Amz-Signature=ab12";

    fn presign(uri: &str) -> String {
        format!("{PREFIX}{uri}{QUERY}")
    }

    fn unsign(uri: &str) -> String {
        uri.strip_prefix(PREFIX).and_then(|u| u.strip_suffix(QUERY)).expect("a URL we made").to_owned()
    }

    #[test]
    fn replaces_segments_and_the_map_and_nothing_else() {
        let signed = rewrite_media_playlist(MEDIA, presign).unwrap();
        assert!(signed.contains(&format!("#EXT-X-MAP:URI=\"{PREFIX}init_0.mp4{QUERY}\"\n")));
        assert!(signed.contains(&format!("#EXTINF:2.000000,\n{PREFIX}s00000.m4s{QUERY}\n")));
        assert_eq!(signed.lines().count(), MEDIA.lines().count());
        assert!(signed.ends_with("#EXT-X-ENDLIST\n"));
        // A stored playlist is relative; a served one is not, and is not accepted back.
        assert!(parse_media(&signed).is_err());
    }

    #[test]
    fn round_trips() {
        let signed = rewrite_media_playlist(MEDIA, presign).unwrap();
        assert_eq!(rewrite_media_playlist(&signed, unsign).unwrap(), MEDIA);
        assert_eq!(rewrite_media_playlist(MEDIA, str::to_owned).unwrap(), MEDIA);
    }

    #[test]
    fn keeps_other_map_attributes() {
        let text = "#EXTM3U\n#EXT-X-MAP:URI=\"i.mp4\",BYTERANGE=\"100@0\"\n";
        assert_eq!(
            rewrite_media_playlist(text, |u| format!("x/{u}")).unwrap(),
            "#EXTM3U\n#EXT-X-MAP:URI=\"x/i.mp4\",BYTERANGE=\"100@0\"\n"
        );
    }

    #[test]
    fn refuses_replacements_that_would_change_the_structure() {
        for bad in ["", "a\nb", "a\"b", "a\rb"] {
            assert!(rewrite_media_playlist(MEDIA, |_| bad.to_owned()).is_err(), "{bad:?}");
        }
        assert!(rewrite_media_playlist("not a playlist", str::to_owned).is_err());
    }

    proptest! {
        #[test]
        fn round_trips_any_valid_playlist(
            durations in prop::collection::vec(1u32..4_000_000, 1..30),
            map in "[a-z0-9_]{1,12}\\.mp4",
        ) {
            let mut text = format!("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-MAP:URI=\"{map}\"\n");
            for (i, us) in durations.iter().enumerate() {
                text.push_str(&format!("#EXTINF:{}.{:06},\ns{i:05}.m4s\n", us / 1_000_000, us % 1_000_000));
            }
            text.push_str("#EXT-X-ENDLIST\n");
            let parsed = parse_media(&text).unwrap();
            let signed = rewrite_media_playlist(&text, presign).unwrap();
            prop_assert_eq!(rewrite_media_playlist(&signed, unsign).unwrap(), text.clone());
            let total: u64 = durations.iter().map(|&d| u64::from(d)).sum();
            prop_assert_eq!(parsed.total_duration(), std::time::Duration::from_micros(total));
        }

        #[test]
        fn never_panics(text in any::<String>()) {
            let _ = rewrite_media_playlist(&format!("#EXTM3U\n{text}"), |u| format!("p/{u}"));
        }
    }
}
