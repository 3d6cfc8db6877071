//! Properties of the file-name extension kept for an upload's object keys: from any
//! name, a short lower-case alphanumeric extension (or `bin`), so the keys are always
//! valid object keys.

use myvid_store::objects::valid_key;
use proptest::prelude::*;

use super::*;

fn filename() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[A-Za-z0-9 ./\\\\é_-]{0,20}\\.[A-Za-z0-9é./]{0,10}"]
}

proptest! {
    #[test]
    fn any_file_name_gives_a_safe_extension_and_valid_object_keys(name in filename()) {
        let ext = extension(&name);
        let short_alnum = (1..=8).contains(&ext.len())
            && ext.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        prop_assert!(short_alnum, "{:?} from {:?}", ext, name);
        let video_key = format!("AbC123xyz_-/video.{ext}");
        let preview_key = format!("AbC123xyz_-/preview.{ext}");
        prop_assert!(valid_key(&video_key) && valid_key(&preview_key));
    }

    #[test]
    fn a_short_alphanumeric_extension_is_kept_lower_cased(stem in any::<String>(), ext in "[A-Za-z0-9]{1,8}") {
        prop_assert_eq!(extension(&format!("{stem}.{ext}")), ext.to_ascii_lowercase());
    }
}
