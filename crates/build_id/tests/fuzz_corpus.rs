//! Replays the committed corpus of the build-ID manifest fuzz target
//! (fuzz/fuzz_targets/build_id_manifest.rs) through the same body the fuzzer runs
//! (fuzz/bodies/build_id.rs).

#[path = "../../../fuzz/bodies/build_id.rs"]
mod body;
#[path = "../../../fuzz/bodies/replay.rs"]
mod replay;

#[test]
fn build_id_manifest() {
  replay::replay("build_id_manifest", body::build_id_manifest);
}
