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
