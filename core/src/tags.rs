//! Hashtags: the `#words` of a video's title and description are its tags. They are
//! words of the search index already, so "related by tag" is a search for them.

/// Most tags a video has (the first ones).
pub const MAX_TAGS: usize = 10;

/// Longest tag, in characters.
const MAX_TAG_CHARS: usize = 40;

/// The hashtags of `title` then `description`: the letters, digits and `_` after each
/// `#` that starts a word, lowercased, without repeats, at most [`MAX_TAGS`].
pub fn hashtags(title: &str, description: &str) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for text in [title, description] {
        let mut previous = ' ';
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            let starts_word = !(previous.is_alphanumeric() || previous == '_' || previous == '#');
            previous = c;
            if c != '#' || !starts_word {
                continue;
            }
            let mut tag = String::new();
            while let Some(&next) = chars.peek() {
                if !(next.is_alphanumeric() || next == '_') {
                    break;
                }
                tag.extend(next.to_lowercase());
                previous = next;
                chars.next();
            }
            let letters = tag.chars().count();
            if letters > 0 && letters <= MAX_TAG_CHARS && !tags.contains(&tag) {
                tags.push(tag);
                if tags.len() == MAX_TAGS {
                    return tags;
                }
            }
        }
    }
    tags
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn tags_are_hash_words_lowercased_once() {
        assert_eq!(
            hashtags("Pasta night #Cooking #italian", "More #cooking, #Pasta_2!"),
            ["cooking", "italian", "pasta_2"]
        );
        assert!(hashtags("C# and F# are languages", "issue#12, ##, # alone").is_empty());
        assert_eq!(hashtags("", "#Crème #brûlée"), ["crème", "brûlée"]);
        let many: String = (0..20).map(|n| format!("#t{n} ")).collect();
        assert_eq!(hashtags(&many, "").len(), MAX_TAGS);
        assert!(hashtags(&format!("#{}", "a".repeat(41)), "").is_empty(), "too long to be a tag");
    }

    proptest! {
        #[test]
        fn tags_are_few_short_distinct_words(title in ".{0,200}", description in ".{0,400}") {
            let tags = hashtags(&title, &description);
            prop_assert!(tags.len() <= MAX_TAGS);
            for (i, tag) in tags.iter().enumerate() {
                prop_assert!(!tag.is_empty() && tag.chars().count() <= MAX_TAG_CHARS * 3);
                prop_assert!(tag.chars().all(|c| c.is_alphanumeric() || c == '_'));
                prop_assert!(!tags[i + 1..].contains(tag));
            }
        }
    }
}
