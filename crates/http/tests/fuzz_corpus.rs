//! Replays every committed fuzz corpus file (`fuzz/corpus/<target>/`) through the checks the
//! fuzz targets run, so `cargo test` guards them without cargo-fuzz. The checks live in
//! `fuzz/src/lib.rs` and are compiled here as a module; they panic when a check fails.

#![expect(
    clippy::expect_used,
    reason = "test helpers fail the test by panicking"
)]

#[path = "../../../fuzz/src/lib.rs"]
mod checks;

use std::path::PathBuf;

/// Every file of `fuzz/corpus/<target>/`, with its name.
fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let folder =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../fuzz/corpus/{target}"));
    let mut files: Vec<_> = std::fs::read_dir(&folder)
        .unwrap_or_else(|err| panic!("cannot list {}: {err}", folder.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    files.sort();
    let files: Vec<_> = files
        .into_iter()
        .map(|path| {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            let data = std::fs::read(&path).expect("a readable corpus file");
            (name.unwrap_or_default(), data)
        })
        .collect();
    assert!(files.len() >= 10, "the {target} corpus is missing");
    files
}

fn replay(target: &str, check: fn(&[u8])) {
    for (name, data) in corpus(target) {
        let outcome = std::panic::catch_unwind(|| check(&data));
        assert!(
            outcome.is_ok(),
            "{target}: the corpus file {name} fails the checks"
        );
    }
}

#[test]
fn svix_verify_corpus_passes() {
    replay("svix_verify", checks::svix_verify);
}

#[test]
fn event_parse_corpus_passes() {
    replay("event_parse", checks::event_parse);
}

#[test]
fn event_decide_corpus_passes() {
    replay("event_decide", checks::event_decide);
}
