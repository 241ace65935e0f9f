//! Diagnostics about the loaded binary itself.

use napi::bindgen_prelude::AsyncTask;
use napi::Env;
use napi_derive::napi;

use crate::error::{run_sync, CodedError};
use crate::task::{Job, Work};

#[napi(object)]
pub struct NativeInfo {
  /// The package version this binary was built from.
  pub version: String,
  /// The Rust target triple, e.g. `x86_64-unknown-linux-gnu` or `aarch64-unknown-linux-musl`.
  pub target: String,
  /// Whether this is an optimised build (`false` for `npm run build:debug`).
  pub release: bool,
}

/// Which native binary was loaded: version, target triple and build profile.
#[napi]
pub fn native_info() -> NativeInfo {
  NativeInfo {
    version: env!("CARGO_PKG_VERSION").to_owned(),
    target: env!("NEXT_NATIVE_TARGET").to_owned(),
    release: !cfg!(debug_assertions),
  }
}

/// Panics inside a native call on purpose, to prove the boundary turns it into an `Error`
/// with `code: 'ERR_NATIVE_PANIC'`. Not part of the public API.
#[napi(js_name = "__panicForTestsSync", skip_typescript)]
pub fn panic_for_tests_sync(env: Env, message: String) -> napi::Result<()> {
  run_sync(&env, || -> Result<(), CodedError> { panic!("{message}") })
}

pub struct PanicWork(String);

impl Work for PanicWork {
  type Output = ();
  type JsValue = ();

  fn run(&mut self) -> Result<(), CodedError> {
    panic!("{}", self.0)
  }

  fn into_js(_env: &Env, _output: ()) -> napi::Result<()> {
    Ok(())
  }
}

/// The async twin of `__panicForTestsSync`: panics on a libuv worker thread.
#[napi(js_name = "__panicForTests", skip_typescript)]
pub fn panic_for_tests(message: String) -> AsyncTask<Job<PanicWork>> {
  AsyncTask::new(Job(PanicWork(message)))
}
