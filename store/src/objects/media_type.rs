//! The closed set of media types MyVid serves, named by the extension of keys the
//! server chose. Nothing served ever takes its type from a client's file name: publish
//! picks the extension from its own probe, and every backend maps it through this one
//! table (anything else is `application/octet-stream`).

/// A type the server stores published media as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    /// MPEG-4 / QuickTime family (H.264, H.265, AV1 in ISO BMFF).
    Mp4,
    /// WebM: Matroska with VP8/VP9/AV1 and Opus/Vorbis.
    WebM,
    /// Other Matroska.
    Matroska,
    /// Ogg with Theora or VP8.
    Ogg,
    /// A JPEG thumbnail.
    Jpeg,
    /// An HLS playlist (RFC 8216 §4), written by the transcode worker.
    Playlist,
    /// An fMP4 media segment of an HLS rendition (served as `video/mp4`, which every
    /// player and proxy knows, rather than the rarer `video/iso.segment`).
    Segment,
}

impl MediaType {
    /// Every type, for lookups by extension.
    pub const ALL: [MediaType; 7] = [
        MediaType::Mp4,
        MediaType::WebM,
        MediaType::Matroska,
        MediaType::Ogg,
        MediaType::Jpeg,
        MediaType::Playlist,
        MediaType::Segment,
    ];

    /// The extension keys of this type end with.
    pub fn extension(self) -> &'static str {
        match self {
            MediaType::Mp4 => "mp4",
            MediaType::WebM => "webm",
            MediaType::Matroska => "mkv",
            MediaType::Ogg => "ogv",
            MediaType::Jpeg => "jpg",
            MediaType::Playlist => "m3u8",
            MediaType::Segment => "m4s",
        }
    }

    /// The `Content-Type` it is served with.
    pub fn content_type(self) -> &'static str {
        match self {
            MediaType::Mp4 => "video/mp4",
            MediaType::WebM => "video/webm",
            MediaType::Matroska => "video/x-matroska",
            MediaType::Ogg => "video/ogg",
            MediaType::Jpeg => "image/jpeg",
            MediaType::Playlist => "application/vnd.apple.mpegurl",
            MediaType::Segment => "video/mp4",
        }
    }

    /// The type a key names by its extension, if it is one of ours.
    pub fn of_key(key: &str) -> Option<MediaType> {
        let (_, ext) = key.rsplit_once('.')?;
        MediaType::ALL.into_iter().find(|t| t.extension() == ext)
    }
}

/// What an object at `key` is served as: its [`MediaType`], or
/// `application/octet-stream` for anything else (never sniffed, never rendered).
pub fn content_type_of_key(key: &str) -> &'static str {
    MediaType::of_key(key).map_or("application/octet-stream", MediaType::content_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_server_chosen_extensions_name_a_type() {
        assert_eq!(content_type_of_key("abc/k3.mp4"), "video/mp4");
        assert_eq!(content_type_of_key("abc/k3.jpg"), "image/jpeg");
        assert_eq!(content_type_of_key("abc/hls/j/a1/master.m3u8"), "application/vnd.apple.mpegurl");
        assert_eq!(content_type_of_key("abc/hls/j/a1/480p/s00001.m4s"), "video/mp4");
        for other in ["abc/p.html", "abc/p.svg", "abc/video", "abc/x.MP4", "abc/x.mp4.html", "abc/x.js"] {
            assert_eq!(content_type_of_key(other), "application/octet-stream", "{other}");
        }
        for t in MediaType::ALL {
            assert_eq!(MediaType::of_key(&format!("a/b.{}", t.extension())), Some(t));
        }
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Whatever a key is, it is served as one of the closed set of types, and as a
        /// media type only when it ends with exactly that type's extension.
        #[test]
        fn any_key_is_served_as_one_of_the_closed_set_of_types(key in any::<String>()) {
            let served = content_type_of_key(&key);
            let known: Vec<&str> = MediaType::ALL.iter().map(|t| t.content_type()).collect();
            prop_assert!(served == "application/octet-stream" || known.contains(&served));
            if let Some(kind) = MediaType::of_key(&key) {
                let suffix = format!(".{}", kind.extension());
                prop_assert!(key.ends_with(&suffix), "{:?} is not a {:?} key", key, kind);
            }
        }
    }
}
