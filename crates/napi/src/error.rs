//! Every failure that crosses into JS is a [`CodedError`]: a stable `ERR_*` code plus a
//! message a user can act on. Core crates keep their own error enums; the mapping from
//! those to codes lives here and nowhere else.

use std::any::Any;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

use napi::bindgen_prelude::{JsObjectValue, Object, Unknown};
use napi::{sys, Env, JsError, JsTypeError, JsValue, Status};

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

/// The constructor of the JS error: Node throws its argument errors (`ERR_INVALID_ARG_*`) as
/// `TypeError`s, everything else as plain `Error`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
  Error,
  TypeError,
}

#[derive(Debug)]
pub struct CodedError {
  pub code: ErrorCode,
  pub message: String,
  pub class: ErrorClass,
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
      class: ErrorClass::Error,
    }
  }

  /// A [`CodedError`] thrown as a `TypeError` (argument errors, as Node throws them).
  pub fn type_error(code: impl Into<String>, message: impl Into<String>) -> Self {
    Self {
      class: ErrorClass::TypeError,
      ..Self::new(code, message)
    }
  }

  /// Builds the JS `Error` on the JS thread and hands it to napi as a retained value, so a
  /// thrown error or a rejected promise carries our `code` rather than napi's generic `Status`.
  ///
  /// If JS already threw while we read an argument (a getter, a proxy trap), that exception
  /// stays the one thrown: it is what the caller's own code raised.
  pub fn into_napi(self, env: &Env) -> napi::Error {
    let mut pending = false;
    // SAFETY: `env` is the live env of the current call.
    let status = unsafe { sys::napi_is_exception_pending(env.raw(), &mut pending) };
    if status != sys::Status::napi_ok || pending {
      return napi::Error::new(Status::PendingException, self.message);
    }
    let error = napi::Error::new(self.code, self.message);
    let js = match self.class {
      ErrorClass::Error => JsError::from(error).into_unknown(*env),
      ErrorClass::TypeError => JsTypeError::from(error).into_unknown(*env),
    };
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

/// The sync half of the boundary: run guarded, convert to a thrown JS error with our code
/// (and class: argument errors are `TypeError`s).
pub fn run_sync<T>(env: &Env, f: impl FnOnce() -> Result<T, CodedError>) -> napi::Result<T> {
  guard(f).map_err(|e| e.into_napi(env))
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
