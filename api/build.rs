//! The web pages are embedded with `include_dir!`, which cargo does not track: ask
//! for a rebuild whenever anything under client-js/web changes, files added included.

fn main() {
    println!("cargo:rerun-if-changed=../client-js/web");
}
