#![no_main]

#[path = "../bodies/env.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::env(data));
