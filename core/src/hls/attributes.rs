//! The attribute lists of HLS tags (RFC 8216 §4.2): `NAME=value` pairs separated by
//! commas, where a value is either a quoted string (which may hold commas) or a bare
//! token (a number, `640x480`, an enumerated name).

/// One attribute as written: the name and the raw value, quotes included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Attribute<'a> {
    /// The name (`URI`, `BANDWIDTH`).
    pub name: &'a str,
    /// The value exactly as written, quotes included (`"init_0.mp4"`, `1460800`).
    pub raw: &'a str,
}

impl<'a> Attribute<'a> {
    /// The value without its quotes.
    pub fn value(&self) -> &'a str {
        self.raw.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(self.raw)
    }

    /// Whether the value is a quoted string.
    pub fn is_quoted(&self) -> bool {
        self.raw.len() >= 2 && self.raw.starts_with('"') && self.raw.ends_with('"')
    }
}

/// Splits an attribute list; `None` when it is malformed (a name outside
/// `[A-Z0-9-]`, a missing `=`, an unclosed quote, text after a closing quote).
pub(crate) fn parse(list: &str) -> Option<Vec<Attribute<'_>>> {
    let mut attributes = Vec::new();
    let mut rest = list;
    while !rest.is_empty() {
        let (name, after) = rest.split_once('=')?;
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-') {
            return None;
        }
        let raw_len = if let Some(quoted) = after.strip_prefix('"') {
            quoted.find('"')? + 2
        } else {
            after.find(',').unwrap_or(after.len())
        };
        let (raw, tail) = after.split_at(raw_len);
        if raw.is_empty() {
            return None;
        }
        attributes.push(Attribute { name, raw });
        rest = match tail.strip_prefix(',') {
            Some(next) if !next.is_empty() => next,
            Some(_) => return None,
            None if tail.is_empty() => tail,
            None => return None,
        };
    }
    Some(attributes)
}

/// The attribute called `name`, if present.
pub(crate) fn find<'a>(attributes: &[Attribute<'a>], name: &str) -> Option<Attribute<'a>> {
    attributes.iter().copied().find(|a| a.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn splits_quoted_values_with_commas() {
        let attrs = parse(r#"BANDWIDTH=1460800,RESOLUTION=640x480,CODECS="avc1.42c016,mp4a.40.2""#).unwrap();
        let pairs: Vec<_> = attrs.iter().map(|a| (a.name, a.value(), a.is_quoted())).collect();
        assert_eq!(
            pairs,
            [
                ("BANDWIDTH", "1460800", false),
                ("RESOLUTION", "640x480", false),
                ("CODECS", "avc1.42c016,mp4a.40.2", true)
            ]
        );
        assert_eq!(find(&attrs, "CODECS").unwrap().raw, r#""avc1.42c016,mp4a.40.2""#);
        assert_eq!(find(&attrs, "URI"), None);
    }

    #[test]
    fn rejects_malformed_lists() {
        for bad in [r#"URI="unclosed"#, "URI", "=1", "uri=1", "A=1,", "A=", r#"A="x"y"#, "A=1,,B=2"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        assert_eq!(parse(""), Some(vec![]));
    }

    proptest! {
        #[test]
        fn never_panics(list in any::<String>()) {
            let _ = parse(&list);
        }

        #[test]
        fn joining_what_was_split_gives_the_list_back(list in r#"([A-Z]{1,4}=([0-9a-z.]{1,6}|"[a-z ,.=]{0,8}"),){0,4}[A-Z]{1,4}=[0-9]{1,3}"#) {
            let attrs = parse(&list).unwrap();
            let joined: Vec<String> = attrs.iter().map(|a| format!("{}={}", a.name, a.raw)).collect();
            prop_assert_eq!(joined.join(","), list);
        }
    }
}
