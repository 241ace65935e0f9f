//! The async half of the boundary. A [`Job`] runs a [`Work`] on the libuv pool; `compute`
//! never returns napi's own error, so both failures and caught panics reach `resolve`, which
//! runs on the JS thread and can build an `Error` carrying our `code`.
//!
//! A call that takes an `AbortSignal` runs as an [`AbortableJob`] instead. napi-rs's own
//! `AbortSignal` argument rejects with `code: 'Cancelled'` and message `AbortError`, ignores a
//! signal that is already aborted, and replaces the signal's `onabort`; ours watches the
//! signal with an `abort` listener and rejects with our code, `name: 'AbortError'` and
//! `cause: signal.reason`, as Node's own APIs do.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use napi::bindgen_prelude::{
  AsyncTask, FnArgs, Function, JsObjectValue, Object, ToNapiValue, TypeName, Unknown,
};
use napi::{Env, JsValue, Task, UnknownRef, ValueType};

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

/// An optional `AbortSignal` argument, watched for one call.
///
/// Once the signal has fired (before the call or while it is queued or running), the promise
/// rejects with an `AbortError` carrying `code` as soon as the native work has stopped: work
/// that has not started yet never starts; work already running cannot be interrupted, runs to
/// its end and its result is dropped. So the promise never settles while the call still
/// holds a worker thread or memory.
pub struct Abort {
  fired: Arc<AtomicBool>,
  /// The signal and our `abort` listener; used and released on the JS thread only (`watch`
  /// before the job is queued, `finish` in `resolve`). The worker thread reads only `fired`.
  signal: Option<(UnknownRef, Option<UnknownRef>)>,
  code: &'static str,
  message: &'static str,
}

impl Abort {
  /// Watches `signal` (`undefined`/`null`: nothing to watch). Anything that is not an
  /// `AbortSignal`-like object (an `aborted` property and `addEventListener`) is an
  /// `ERR_INVALID_ARG_TYPE`, thrown at the call.
  pub fn watch(
    env: &Env,
    signal: Option<Unknown<'_>>,
    code: &'static str,
    message: &'static str,
  ) -> napi::Result<Self> {
    let mut abort = Abort {
      fired: Arc::new(AtomicBool::new(false)),
      signal: None,
      code,
      message,
    };
    let Some(signal) = signal else {
      return Ok(abort);
    };
    let not_a_signal = || {
      CodedError::new(
        "ERR_INVALID_ARG_TYPE",
        "The \"signal\" argument must be an AbortSignal",
      )
      .into_napi(env)
    };
    if signal.get_type()? != ValueType::Object {
      return Err(not_a_signal());
    }
    // SAFETY: the type was checked just above.
    let object: Object<'_> = unsafe { signal.cast()? };
    let add: Unknown<'_> = object.get_named_property_unchecked("addEventListener")?;
    if !object.has_named_property("aborted")? || add.get_type()? != ValueType::Function {
      return Err(not_a_signal());
    }
    let aborted: Unknown<'_> = object.get_named_property_unchecked("aborted")?;
    // SAFETY: the type is checked first.
    if aborted.get_type()? == ValueType::Boolean && unsafe { aborted.cast::<bool>()? } {
      abort.fired.store(true, Ordering::Release);
      abort.signal = Some((signal.create_ref()?, None));
      return Ok(abort);
    }
    let fired = abort.fired.clone();
    let listener = env.create_function_from_closure::<(), (), _>("abort", move |_| {
      fired.store(true, Ordering::Release);
      Ok(())
    })?;
    // SAFETY: checked to be a function above.
    let add: Function<'_, FnArgs<(&str, Unknown<'_>)>, Unknown<'_>> = unsafe { add.cast()? };
    add.apply(object, FnArgs::from(("abort", listener.to_unknown())))?;
    // References last, so that an error above leaves nothing to release.
    let signal_ref = signal.create_ref()?;
    let listener_ref = listener.to_unknown().create_ref()?;
    abort.signal = Some((signal_ref, Some(listener_ref)));
    Ok(abort)
  }

  fn fired(&self) -> bool {
    self.fired.load(Ordering::Acquire)
  }

  /// On the JS thread, when the call is over: removes our listener, releases the signal and,
  /// if it fired, returns the `AbortError` to reject with.
  fn finish(&mut self, env: &Env) -> napi::Result<Option<napi::Error>> {
    let fired = self.fired();
    let mut reason = None;
    if let Some((signal_ref, listener_ref)) = self.signal.take() {
      let unwatched = unwatch(env, &signal_ref, listener_ref.as_ref(), fired);
      if let Some(listener_ref) = listener_ref {
        listener_ref.unref(env)?;
      }
      signal_ref.unref(env)?;
      reason = unwatched?;
    }
    if !fired {
      return Ok(None);
    }
    Ok(Some(
      CodedError::new(self.code, self.message).into_napi_named(env, "AbortError", reason)?,
    ))
  }
}

/// `signal.removeEventListener('abort', listener)`; `signal.reason` if it fired.
fn unwatch<'env>(
  env: &'env Env,
  signal_ref: &UnknownRef,
  listener_ref: Option<&UnknownRef>,
  fired: bool,
) -> napi::Result<Option<Unknown<'env>>> {
  let signal = signal_ref.get_value(env)?;
  // SAFETY: `watch` checked that the signal is an object.
  let object: Object<'_> = unsafe { signal.cast()? };
  if let Some(listener_ref) = listener_ref {
    let listener = listener_ref.get_value(env)?;
    let remove: Unknown<'_> = object.get_named_property_unchecked("removeEventListener")?;
    if remove.get_type()? == ValueType::Function {
      // SAFETY: the type was checked just above.
      let remove: Function<'_, FnArgs<(&str, Unknown<'_>)>, Unknown<'_>> =
        unsafe { remove.cast()? };
      remove.apply(object, FnArgs::from(("abort", listener)))?;
    }
  }
  if !fired {
    return Ok(None);
  }
  Ok(Some(object.get_named_property_unchecked("reason")?))
}

/// A [`Job`] that takes an `AbortSignal` (see [`Abort`]).
pub struct AbortableJob<W: Work> {
  work: W,
  abort: Abort,
}

impl<W: Work> AbortableJob<W> {
  /// The task for a `#[napi]` function: `signal` is its optional `AbortSignal` argument,
  /// `code` and `message` what the rejection carries once it fires.
  pub fn task(
    env: &Env,
    work: W,
    signal: Option<Unknown<'_>>,
    code: &'static str,
    message: &'static str,
  ) -> napi::Result<AsyncTask<Self>> {
    let abort = Abort::watch(env, signal, code, message)?;
    Ok(AsyncTask::new(AbortableJob { work, abort }))
  }
}

impl<W: Work> Task for AbortableJob<W> {
  type Output = Result<W::Output, CodedError>;
  type JsValue = W::JsValue;

  fn compute(&mut self) -> napi::Result<Self::Output> {
    if self.abort.fired() {
      // Never started: `resolve` rejects with the AbortError.
      return Ok(Err(CodedError::new(self.abort.code, self.abort.message)));
    }
    Ok(guard(|| self.work.run()))
  }

  fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<Self::JsValue> {
    if let Some(aborted) = self.abort.finish(&env)? {
      return Err(aborted);
    }
    match output {
      Ok(value) => W::into_js(&env, value),
      Err(err) => Err(err.into_napi(&env)),
    }
  }
}
