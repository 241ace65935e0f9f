#![no_main]

#[path = "../bodies/build_id.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::build_id_manifest(data));
