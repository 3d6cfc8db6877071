//! What the worker's integration tests share: running the media tools and making
//! test clips with them.

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// Runs a media tool to completion, failing the test with a clear message when it is
/// not installed or fails.
pub fn tool(program: &str, args: &[&str]) -> String {
    let output = Command::new(program).args(args).output().unwrap_or_else(|e| {
        panic!("{program} is needed by this test but could not be run ({e}); install ffmpeg (scripts/install-deps.sh)")
    });
    assert!(output.status.success(), "{program} {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

/// A `seconds` long 640×480 15 fps test pattern with a sine tone, encoded with
/// `codec_args` into `path`.
pub fn make_clip(path: &Path, seconds: u32, codec_args: &[&str]) {
    let duration = seconds.to_string();
    let mut args = vec![
        "-nostdin",
        "-v",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=640x480:rate=15",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000",
        "-t",
        &duration,
    ];
    args.extend_from_slice(codec_args);
    args.push(path.to_str().unwrap());
    tool("ffmpeg", &args);
}

/// `(codec_type, codec_name, width, height)` of every stream ffprobe finds in `playlist`.
pub fn streams(playlist: &Path) -> Vec<(String, String, u64, u64)> {
    let json = tool(
        "ffprobe",
        &[
            "-v",
            "error",
            "-show_entries",
            "stream=codec_type,codec_name,width,height",
            "-of",
            "json",
            playlist.to_str().unwrap(),
        ],
    );
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    value["streams"]
        .as_array()
        .expect("streams")
        .iter()
        .map(|s| {
            (
                s["codec_type"].as_str().unwrap_or_default().to_owned(),
                s["codec_name"].as_str().unwrap_or_default().to_owned(),
                s["width"].as_u64().unwrap_or(0),
                s["height"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}
