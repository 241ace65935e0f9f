#![no_main]

#[path = "../bodies/image.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::image_tiff(data));
