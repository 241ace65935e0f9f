//! Replays the committed corpora of the cache fuzz targets (fuzz/fuzz_targets/cache_*.rs)
//! through the same bodies the fuzzers run (fuzz/bodies/cache.rs).

#[path = "../../../fuzz/bodies/cache.rs"]
mod body;
#[path = "../../../fuzz/bodies/replay.rs"]
mod replay;

#[test]
fn cache_store() {
  replay::replay("cache_store", body::cache_store);
}

#[test]
fn cache_disk() {
  replay::replay("cache_disk", body::cache_disk);
}
