fn main() {
  // `nativeInfo()` reports the target the addon was compiled for, so users can tell
  // which prebuilt binary the loader picked (glibc vs musl, x64 vs arm64).
  println!(
    "cargo:rustc-env=NEXT_NATIVE_TARGET={}",
    std::env::var("TARGET").unwrap_or_default()
  );
  napi_build::setup();
}
