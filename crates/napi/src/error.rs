//! Every failure that crosses into JS is a [`CodedError`]: a stable `ERR_*` code plus a
//! message a user can act on. Core crates keep their own error enums; the mapping from
//! those to codes lives here and nowhere else.

use std::any::Any;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

use napi::bindgen_prelude::{JsObjectValue, Object, Unknown};
use napi::{Env, JsError, JsValue};

/// A Rust panic was caught at the boundary. Always a bug in this package.
pub const NATIVE_PANIC: &str = "ERR_NATIVE_PANIC";

/// The code as JS sees it (`err.code`). Core crates name their failures with stable
/// `UPPER_SNAKE` codes; across the boundary they become `ERR_<CODE>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorCode(pub String);

impl AsRef<str> for ErrorCode {
  fn as_ref(&self) -> &str {
    &self.0
  }
}

#[derive(Debug)]
pub struct CodedError {
  pub code: ErrorCode,
  pub message: String,
}

/// A core crate's error: its stable code (prefixed `ERR_`) and its message.
pub trait CoreError: std::fmt::Display {
  fn code(&self) -> &'static str;
}

impl<E: CoreError> From<E> for CodedError {
  fn from(e: E) -> Self {
    CodedError::new(format!("ERR_{}", e.code()), e.to_string())
  }
}

impl CodedError {
  pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
    Self {
      code: ErrorCode(code.into()),
      message: message.into(),
    }
  }

  /// Builds the JS `Error` on the JS thread and hands it to napi as a retained value, so a
  /// rejected promise carries our `code` rather than napi's generic `Status`.
  pub fn into_napi(self, env: &Env) -> napi::Error {
    let js = JsError::from(napi::Error::new(self.code, self.message)).into_unknown(*env);
    napi::Error::from(js)
  }

  /// [`into_napi`](Self::into_napi) with another `name` (e.g. `AbortError`, as Node names
  /// an aborted call's error) and an optional `cause`.
  pub fn into_napi_named(
    self,
    env: &Env,
    name: &str,
    cause: Option<Unknown<'_>>,
  ) -> napi::Result<napi::Error> {
    let js = JsError::from(napi::Error::new(self.code, self.message)).into_unknown(*env);
    // SAFETY: napi builds an `Error` object.
    let mut js: Object<'_> = unsafe { js.cast()? };
    js.set_named_property("name", name)?;
    if let Some(cause) = cause {
      js.set_named_property("cause", cause)?;
    }
    Ok(napi::Error::from(js.to_unknown()))
  }
}

impl fmt::Display for CodedError {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "{}: {}", self.code.0, self.message)
  }
}

impl From<CodedError> for napi::Error<ErrorCode> {
  fn from(e: CodedError) -> Self {
    napi::Error::new(e.code, e.message)
  }
}

/// Runs `f`, turning a panic into `ERR_NATIVE_PANIC`. Unwinding out of an `extern "C"`
/// napi callback aborts Node (exit 134), so every entry point goes through here.
pub fn guard<T>(f: impl FnOnce() -> Result<T, CodedError>) -> Result<T, CodedError> {
  match catch_unwind(AssertUnwindSafe(f)) {
    Ok(result) => result,
    Err(payload) => Err(CodedError::new(
      NATIVE_PANIC,
      format!(
        "internal error in @rs/next-native ({}); please report it with the input that caused it",
        panic_message(&*payload)
      ),
    )),
  }
}

/// The sync half of the boundary: run guarded, convert to a thrown JS error with our code.
pub fn run_sync<T>(f: impl FnOnce() -> Result<T, CodedError>) -> Result<T, napi::Error<ErrorCode>> {
  guard(f).map_err(Into::into)
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
  if let Some(s) = payload.downcast_ref::<&str>() {
    (*s).to_owned()
  } else if let Some(s) = payload.downcast_ref::<String>() {
    s.clone()
  } else {
    "panic with a non-string payload".to_owned()
  }
}
