//! Which renditions (rungs) a source gets: a pure function of its displayed size.
//!
//! A rung is named after the short side of its picture (`"720p"` is 1280×720 for a
//! landscape source and 720×1280 for a portrait one), so a phone video gets the same
//! quality steps as a camera one. Rules (docs/plans/transcoding.md §3c):
//!
//! | source short side | rungs |
//! | --- | --- |
//! | ≥ 972 (1080 · 0.9) | 1080p, 720p, 480p, 360p |
//! | 648 – 971 | 720p, 480p, 360p |
//! | 432 – 647 | 480p, 360p |
//! | 324 – 431 | 360p |
//! | < 324 | one rung at the source's own size, at the 360p bitrate |
//!
//! A rung never upscales: its short side is `min(rung, source)`, so a 1920×1000 source
//! gets a "1080p" rung of 1920×1000. Every dimension is even (x264's 4:2:0 needs it).

/// One rendition of the ladder: its size and the rate control libx264 gets for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rung {
    /// The name players show and the rung's directory in the output (`"480p"`).
    pub name: String,
    /// Picture width in pixels (even).
    pub width: u32,
    /// Picture height in pixels (even).
    pub height: u32,
    /// Target average video bitrate (`-b:v`), kbit/s.
    pub video_bitrate_kbps: u32,
    /// Peak video bitrate (`-maxrate`), kbit/s: 1.07 × the target, so a segment's
    /// size stays close to what the master playlist announces.
    pub maxrate_kbps: u32,
    /// Rate-control buffer (`-bufsize`), kbit: two seconds of the target, one segment.
    pub bufsize_kbps: u32,
}

/// The standard rungs: short side in pixels and target video bitrate in kbit/s
/// (the bitrates of common H.264 ladders for 30 fps content).
const STEPS: [(u32, u32); 4] = [(1080, 4800), (720, 2400), (480, 1200), (360, 800)];

/// A rung is offered when the source's short side is at least this share of it
/// (in tenths), so a 1920×1072 crop still gets its 1080p rung.
const TOLERANCE_TENTHS: u64 = 9;

/// The smallest picture side accepted: smaller sizes are treated as this one.
/// (The publish-time probe rejects such sources long before they get here.)
const MIN_SIDE: u32 = 2;

/// The renditions for a source of `width` × `height` coded pixels shown rotated by
/// `rotation_degrees` (ffmpeg autorotates before the filter graph, so ±90 and ±270
/// swap the sides). Largest rung first; never empty.
pub fn plan(width: u32, height: u32, rotation_degrees: i32) -> Vec<Rung> {
    let (width, height) = displayed(width, height, rotation_degrees);
    let portrait = height > width;
    let (short, long) = if portrait { (width, height) } else { (height, width) };
    let mut rungs: Vec<Rung> = STEPS
        .iter()
        .filter(|(step, _)| u64::from(short) * 10 >= u64::from(*step) * TOLERANCE_TENTHS)
        .map(|&(step, kbps)| rung(step.min(short), long, short, portrait, &format!("{step}p"), kbps))
        .collect();
    if rungs.is_empty() {
        let out_short = even_down(short);
        rungs.push(rung(out_short, long, short, portrait, &format!("{out_short}p"), STEPS[3].1));
    }
    rungs
}

/// The size as shown: the coded size with sides swapped for a quarter turn.
fn displayed(width: u32, height: u32, rotation_degrees: i32) -> (u32, u32) {
    let (width, height) = (width.max(MIN_SIDE), height.max(MIN_SIDE));
    if rotation_degrees.rem_euclid(180) == 90 { (height, width) } else { (width, height) }
}

/// A rung whose short side is `target_short` (≤ the source's `short`), with the long
/// side scaled to keep the aspect ratio, rounded to the nearest even number but never
/// above the source's own (even-rounded) long side.
fn rung(target_short: u32, long: u32, short: u32, portrait: bool, name: &str, kbps: u32) -> Rung {
    let out_short = even_down(target_short);
    let scaled = u64::from(long) * u64::from(out_short);
    // Nearest multiple of 2 of `scaled / short`: round(scaled / (2·short)) · 2.
    let nearest_even = (scaled + u64::from(short)) / (2 * u64::from(short)) * 2;
    let out_long = u32::try_from(nearest_even).unwrap_or(u32::MAX).min(even_down(long)).max(MIN_SIDE);
    let (width, height) = if portrait { (out_short, out_long) } else { (out_long, out_short) };
    Rung {
        name: name.to_owned(),
        width,
        height,
        video_bitrate_kbps: kbps,
        maxrate_kbps: kbps * 107 / 100,
        bufsize_kbps: kbps * 2,
    }
}

/// `n` rounded down to an even number, at least [`MIN_SIDE`].
fn even_down(n: u32) -> u32 {
    (n & !1).max(MIN_SIDE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sizes(rungs: &[Rung]) -> Vec<(&str, u32, u32)> {
        rungs.iter().map(|r| (r.name.as_str(), r.width, r.height)).collect()
    }

    #[test]
    fn a_1080p_source_gets_four_rungs_with_the_planned_bitrates() {
        let rungs = plan(1920, 1080, 0);
        assert_eq!(sizes(&rungs), [("1080p", 1920, 1080), ("720p", 1280, 720), ("480p", 854, 480), ("360p", 640, 360)]);
        let rates: Vec<_> = rungs.iter().map(|r| (r.video_bitrate_kbps, r.maxrate_kbps, r.bufsize_kbps)).collect();
        assert_eq!(rates, [(4800, 5136, 9600), (2400, 2568, 4800), (1200, 1284, 2400), (800, 856, 1600)]);
    }

    #[test]
    fn the_ci_clip_gets_480p_and_360p() {
        assert_eq!(sizes(&plan(640, 480, 0)), [("480p", 640, 480), ("360p", 480, 360)]);
    }

    #[test]
    fn a_slightly_short_source_keeps_its_top_rung_without_upscaling() {
        assert_eq!(sizes(&plan(1920, 1072, 0))[0], ("1080p", 1920, 1072));
        assert_eq!(plan(1728, 972, 0).len(), 4);
        assert_eq!(plan(1726, 971, 0)[0].name, "720p");
    }

    #[test]
    fn table_boundaries() {
        let names = |short: u32| plan(short * 2, short, 0).into_iter().map(|r| r.name).collect::<Vec<_>>();
        assert_eq!(names(648), ["720p", "480p", "360p"]);
        assert_eq!(names(647), ["480p", "360p"]);
        assert_eq!(names(432), ["480p", "360p"]);
        assert_eq!(names(431), ["360p"]);
        assert_eq!(names(324), ["360p"]);
        assert_eq!(names(323), ["322p"]);
    }

    #[test]
    fn portrait_sources_name_rungs_after_their_short_side() {
        assert_eq!(sizes(&plan(1080, 1920, 0))[1], ("720p", 720, 1280));
        // A landscape phone recording stored with a quarter-turn rotation is portrait.
        assert_eq!(sizes(&plan(640, 480, 90)), [("480p", 480, 640), ("360p", 360, 480)]);
        assert_eq!(sizes(&plan(640, 480, -90)), sizes(&plan(480, 640, 0)));
        assert_eq!(sizes(&plan(640, 480, 270)), sizes(&plan(480, 640, 0)));
        assert_eq!(sizes(&plan(640, 480, 180)), sizes(&plan(640, 480, 0)));
    }

    #[test]
    fn a_tiny_source_gets_one_rung_at_its_own_even_size_and_the_360p_bitrate() {
        let rungs = plan(321, 241, 0);
        assert_eq!(sizes(&rungs), [("240p", 320, 240)]);
        assert_eq!(rungs[0].video_bitrate_kbps, 800);
    }

    proptest! {
        #[test]
        fn ladders_are_sane(width in 2u32..8192, height in 2u32..8192, rotation in prop::sample::select(vec![0, 90, 180, 270, -90])) {
            let rungs = plan(width, height, rotation);
            let (shown_w, shown_h) = displayed(width, height, rotation);
            prop_assert!(!rungs.is_empty());
            for r in &rungs {
                prop_assert!(r.width <= shown_w && r.height <= shown_h, "{r:?} upscales {shown_w}x{shown_h}");
                prop_assert!(r.width % 2 == 0 && r.height % 2 == 0 && r.width > 0 && r.height > 0, "{r:?}");
                prop_assert!(r.maxrate_kbps > r.video_bitrate_kbps && r.bufsize_kbps > r.video_bitrate_kbps);
            }
            for pair in rungs.windows(2) {
                prop_assert!(pair[0].height > pair[1].height, "{:?}", sizes(&rungs));
                prop_assert!(pair[0].video_bitrate_kbps > pair[1].video_bitrate_kbps);
            }
        }
    }
}
