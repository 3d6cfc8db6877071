//! The JSON Schemas of the free-text fields, for the OpenAPI document: exactly what
//! [`limits::text`](crate::limits::text) and the account checks accept, as an
//! ECMA/Python-compatible `pattern` (which holds the length limit of the trimmed text). The character classes are built
//! from the same ranges a test compares with `char::is_whitespace` and
//! `char::is_control`, over every `char`.

use utoipa::openapi::schema::{Object, ObjectBuilder, SchemaType, Type};

use crate::limits::{MAX_DESCRIPTION_CHARS, MAX_FILENAME_CHARS, MAX_SEARCH_CHARS, MAX_TITLE_CHARS};

/// White space as `str::trim` removes it (Unicode `White_Space`).
const WHITE_SPACE: [(char, char); 10] = [
    ('\t', '\r'),
    (' ', ' '),
    ('\u{85}', '\u{85}'),
    ('\u{a0}', '\u{a0}'),
    ('\u{1680}', '\u{1680}'),
    ('\u{2000}', '\u{200a}'),
    ('\u{2028}', '\u{2029}'),
    ('\u{202f}', '\u{202f}'),
    ('\u{205f}', '\u{205f}'),
    ('\u{3000}', '\u{3000}'),
];

/// Control characters (`char::is_control`, general category Cc).
const CONTROL: [(char, char); 2] = [('\0', '\u{1f}'), ('\u{7f}', '\u{9f}')];

/// Control characters other than tab, line feed and carriage return (what a multi-line
/// field refuses).
const CONTROL_BUT_LINE_BREAKS: [(char, char); 4] =
    [('\0', '\u{8}'), ('\u{b}', '\u{c}'), ('\u{e}', '\u{1f}'), ('\u{7f}', '\u{9f}')];

/// A regex character class of `ranges` (negated: any other character).
fn class(negated: bool, ranges: &[(char, char)]) -> String {
    let escape = |c: char| format!("\\u{:04x}", u32::from(c));
    let body: String = ranges
        .iter()
        .map(|&(from, to)| if from == to { escape(from) } else { format!("{}-{}", escape(from), escape(to)) })
        .collect();
    format!("[{}{body}]", if negated { "^" } else { "" })
}

fn white() -> String {
    class(false, &WHITE_SPACE)
}

/// A character that is neither white space nor a control character.
fn visible() -> String {
    class(true, &[&WHITE_SPACE[..], &CONTROL[..]].concat())
}

/// Text that, trimmed, is 1–`max` characters: a `visible` first and last character
/// with up to `max - 2` `inner` ones between. (The limit counts the trimmed text, as
/// [`limits::text`](crate::limits::text) does, so it is in the pattern: a `maxLength`
/// would count the white space around it too.)
fn trimmed_core(max: usize, visible: &str, inner: &str) -> String {
    format!("{visible}(?:{inner}{{0,{}}}{visible})?", max.saturating_sub(2))
}

/// One line of text of at most `max` characters once trimmed: non-empty when `required`.
fn line_pattern(max: usize, required: bool) -> String {
    let (ws, vis, inner) = (white(), visible(), class(true, &CONTROL));
    let core = trimmed_core(max, &vis, &inner);
    let core = if required { core } else { format!("(?:{core})?") };
    format!("^{ws}*{core}{ws}*$")
}

fn string(max: usize, what: &str, pattern: String) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(format!("{what}: at most {max} characters once white space around it is trimmed.")))
        .pattern(Some(pattern))
}

/// A title: 1–200 characters, one line, not only white space.
pub fn title() -> Object {
    string(MAX_TITLE_CHARS, "One line", line_pattern(MAX_TITLE_CHARS, true)).build()
}

/// A file name: 1–255 characters, one line, not only white space.
pub fn filename() -> Object {
    string(MAX_FILENAME_CHARS, "One line", line_pattern(MAX_FILENAME_CHARS, true)).build()
}

/// An optional file name: like [`filename`], or empty (or only white space).
pub fn optional_filename() -> Object {
    string(MAX_FILENAME_CHARS, "One line, may be empty", line_pattern(MAX_FILENAME_CHARS, false)).build()
}

/// A description: up to 5,000 characters; line breaks and tabs allowed.
pub fn description() -> Object {
    let (ws, inner) = (white(), class(true, &CONTROL_BUT_LINE_BREAKS));
    let core = trimmed_core(MAX_DESCRIPTION_CHARS, &visible(), &inner);
    string(MAX_DESCRIPTION_CHARS, "Line breaks and tabs allowed", format!("^{ws}*(?:{core})?{ws}*$")).build()
}

/// A title, or `null`.
pub fn title_or_null() -> Object {
    string(MAX_TITLE_CHARS, "One line", line_pattern(MAX_TITLE_CHARS, true))
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .build()
}

/// A description, or `null`.
pub fn description_or_null() -> Object {
    let mut schema = description();
    schema.schema_type = SchemaType::from_iter([Type::String, Type::Null]);
    schema
}

/// Search words: up to 200 characters, one line, may be empty.
pub fn search() -> Object {
    string(MAX_SEARCH_CHARS, "One line, may be empty", line_pattern(MAX_SEARCH_CHARS, false)).build()
}

/// Search words, or `null`.
pub fn search_or_null() -> Object {
    string(MAX_SEARCH_CHARS, "One line, may be empty", line_pattern(MAX_SEARCH_CHARS, false))
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .build()
}

/// An e-mail address: one `@` with something on each side, no white space or control
/// characters, at most 254 characters.
pub fn email() -> Object {
    let part = class(true, &[&WHITE_SPACE[..], &CONTROL[..], &[('@', '@')]].concat());
    ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(crate::accounts::MAX_EMAIL_CHARS))
        .pattern(Some(format!("^{part}+@{part}+$")))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn within(ranges: &[(char, char)], c: char) -> bool {
        ranges.iter().any(|&(from, to)| (from..=to).contains(&c))
    }

    #[test]
    fn the_classes_are_exactly_rusts_white_space_and_control_characters() {
        for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32) {
            assert_eq!(within(&WHITE_SPACE, c), c.is_whitespace(), "{c:?}");
            assert_eq!(within(&CONTROL, c), c.is_control(), "{c:?}");
            let refused_in_multiline = c.is_control() && !matches!(c, '\t' | '\n' | '\r');
            assert_eq!(within(&CONTROL_BUT_LINE_BREAKS, c), refused_in_multiline, "{c:?}");
        }
    }

    #[test]
    fn patterns_use_portable_escapes() {
        assert_eq!(class(true, &[('\0', '\u{1f}'), ('@', '@')]), r"[^\u0000-\u001f\u0040]");
        let title = serde_json::to_value(title()).unwrap();
        let pattern = title["pattern"].as_str().unwrap();
        assert!(pattern.starts_with(r"^[\u0009-\u000d\u0020"), "{pattern}");
        assert!(pattern.contains("{0,198}"), "the trimmed title's limit is in the pattern: {pattern}");
    }
}
