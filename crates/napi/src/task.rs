//! The async half of the boundary. A [`Job`] runs a [`Work`] on the libuv pool; `compute`
//! never returns napi's own error, so both failures and caught panics reach `resolve`, which
//! runs on the JS thread and can build an `Error` carrying our `code`.

use napi::bindgen_prelude::{ToNapiValue, TypeName};
use napi::{Env, Task};

use crate::error::{guard, CodedError};

/// One unit of background work. Inputs must be owned (copied off the JS heap before
/// dispatch): JS may mutate a `Buffer` while the worker thread reads it.
pub trait Work: Send + Sized {
  type Output: Send + 'static;
  type JsValue: ToNapiValue + TypeName;

  /// Runs on a libuv worker thread.
  fn run(&mut self) -> Result<Self::Output, CodedError>;

  /// Runs on the JS thread.
  fn into_js(env: &Env, output: Self::Output) -> napi::Result<Self::JsValue>;
}

pub struct Job<W: Work>(pub W);

impl<W: Work> Task for Job<W> {
  type Output = Result<W::Output, CodedError>;
  type JsValue = W::JsValue;

  fn compute(&mut self) -> napi::Result<Self::Output> {
    Ok(guard(|| self.0.run()))
  }

  fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<Self::JsValue> {
    match output {
      Ok(value) => W::into_js(&env, value),
      Err(err) => Err(err.into_napi(&env)),
    }
  }
}
