#![no_main]

#[path = "../bodies/cache.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::cache_store(data));
