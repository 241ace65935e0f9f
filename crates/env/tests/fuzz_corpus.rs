//! Replays the committed corpus of the `env` fuzz target (fuzz/fuzz_targets/env.rs) through
//! the same body the fuzzer runs (fuzz/bodies/env.rs).

#[path = "../../../fuzz/bodies/env.rs"]
mod body;
#[path = "../../../fuzz/bodies/replay.rs"]
mod replay;

#[test]
fn env() {
  replay::replay("env", body::env);
}
