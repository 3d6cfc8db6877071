//! Limits on every size that comes from outside, and the checks that enforce them.

use crate::error::ApiError;

/// Largest JSON request body accepted anywhere (64 KiB: the longest legitimate body,
/// an upload request with a 5,000-character description, is far below it).
pub const MAX_JSON_BODY: usize = 64 * 1024;
/// Title length in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Description length in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 5_000;
/// File name length in characters (what most file systems allow).
pub const MAX_FILENAME_CHARS: usize = 255;
/// Search query length in characters.
pub const MAX_SEARCH_CHARS: usize = 200;
/// Largest page a listing returns.
pub const MAX_PAGE: u32 = 100;
/// Page size when none is asked for.
pub const DEFAULT_PAGE: u32 = 20;
/// Bearer tokens we issue are 43 characters; anything much longer is not ours.
pub const MAX_TOKEN_CHARS: usize = 128;

/// Checks a free-text field and returns it trimmed: white space around it is dropped
/// first, then what is left must be at most `max` characters (so a title of exactly
/// `max` characters pasted with a trailing space or newline is not refused for the
/// blank nobody sees, and the pages' "{n} / 200" counter counts the same way),
/// non-empty when `required`, and free of control characters other than newlines and
/// tabs (when `multiline`).
pub fn text(field: &str, value: &str, max: usize, required: bool, multiline: bool) -> Result<String, ApiError> {
    let value = value.trim();
    if required && value.is_empty() {
        return Err(ApiError::invalid(format!("`{field}` must not be empty")));
    }
    let len = value.chars().count();
    if len > max {
        return Err(ApiError::invalid(format!("`{field}` is {len} characters long; the limit is {max}")));
    }
    let allowed = |c: char| !c.is_control() || (multiline && (c == '\n' || c == '\t' || c == '\r'));
    if !value.chars().all(allowed) {
        return Err(ApiError::invalid(format!("`{field}` contains control characters")));
    }
    Ok(value.to_owned())
}

/// Clamps a requested page size into `1..=MAX_PAGE`.
pub fn page_size(requested: Option<u32>) -> u32 {
    requested.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE)
}

#[cfg(test)]
mod properties;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_checks_length_emptiness_and_control_chars() {
        assert_eq!(text("title", "  Hi  ", 10, true, false).unwrap(), "Hi");
        assert_eq!(text("title", "  Hi  ", 2, true, false).unwrap(), "Hi", "white space around it does not count");
        assert!(text("title", " Hi! ", 2, true, false).is_err());
        let full = "x".repeat(MAX_TITLE_CHARS);
        assert_eq!(text("title", &format!("{full} \n"), MAX_TITLE_CHARS, true, false).unwrap(), full);
        assert!(text("title", &format!("{full}y"), MAX_TITLE_CHARS, true, false).is_err());
        assert!(text("title", "   ", 10, true, false).is_err());
        assert_eq!(text("description", "", 10, false, true).unwrap(), "");
        let err = text("title", &"é".repeat(11), 10, true, false).unwrap_err();
        assert!(err.message.contains("`title`") && err.message.contains("10"));
        assert!(text("title", "a\u{0}b", 10, true, false).is_err());
        assert!(text("title", "a\nb", 10, true, false).is_err());
        assert!(text("description", "a\nb", 10, true, true).is_ok());
        assert_eq!(page_size(None), DEFAULT_PAGE);
        assert_eq!(page_size(Some(0)), 1);
        assert_eq!(page_size(Some(10_000)), MAX_PAGE);
    }
}
