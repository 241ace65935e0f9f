fn main() {
  // `nativeInfo()` reports the target the addon was compiled for, so users can tell
  // which prebuilt binary the loader picked (glibc vs musl, x64 vs arm64).
  println!(
    "cargo:rustc-env=NEXT_NATIVE_TARGET={}",
    std::env::var("TARGET").unwrap_or_default()
  );
  napi_build::setup();
  // rav1d's x86-64/aarch64 assembly reaches its Rust tables with PC-relative relocations,
  // which a shared object accepts only for symbols that bind locally (memorysafety/rav1d#1367).
  if std::env::var("CARGO_CFG_TARGET_VENDOR").as_deref() != Ok("apple")
    && std::env::var("CARGO_CFG_TARGET_FAMILY").as_deref() == Ok("unix")
  {
    println!("cargo:rustc-link-arg-cdylib=-Wl,-Bsymbolic");
  }
}
