//! Checked conversions of JS arguments. Exports take the arguments napi-rs would convert
//! unchecked as `Unknown` and convert them here, so a wrong argument is a JS `TypeError` with
//! Node's own code that names it:
//!
//! - `ERR_INVALID_ARG_TYPE`, the wrong type: `The "options.width" argument must be of type
//!   number. Received type string ('64')`;
//! - `ERR_INVALID_ARG_VALUE`, the right type but a value no call can mean: `The
//!   "options.width" argument must be an integer from 1 to 4294967295. Received 2.5`.
//!
//! napi-rs's own conversions fail with its `Status` as the code (`StringExpected`) and no name,
//! and convert numbers unchecked (`u32` wraps -1 and truncates 2.5). Only types and ranges
//! a Rust type cannot hold are checked here; what a value means is the core crates' business.
//! As in napi-rs, `undefined` and `null` both mean "absent" for an optional value, and an
//! option object's unknown properties are ignored.
//!
//! Reading a property can run JS (a getter). If it throws, that exception is the one the
//! caller sees (see [`CodedError::into_napi`]).

use std::ffi::CStr;
use std::fmt::{self, Display};
use std::ptr;

use napi::bindgen_prelude::{JsObjectValue, Object};
use napi::{sys, JsValue, Unknown, ValueType};

use crate::error::CodedError;

/// `Number.MAX_SAFE_INTEGER`: the largest integer a JS number holds exactly.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// How an argument is named in messages: `&"key"`, or a [`Field`] / [`Index`] of another name.
pub type Name<'a> = &'a dyn Display;

/// `options.width`
pub struct Field<'a>(pub Name<'a>, pub &'a str);

impl Display for Field<'_> {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "{}.{}", self.0, self.1)
  }
}

/// `states[0]`
pub struct Index<'a>(pub Name<'a>, pub u32);

impl Display for Index<'_> {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "{}[{}]", self.0, self.1)
  }
}

/// `ERR_INVALID_ARG_TYPE`: `The "name" argument must be <expected>. Received <what>`.
pub fn invalid_type(name: Name<'_>, expected: &str, value: Unknown<'_>) -> CodedError {
  CodedError::type_error(
    "ERR_INVALID_ARG_TYPE",
    format!(
      "The \"{name}\" argument must be {expected}. Received {}",
      received(value)
    ),
  )
}

/// `ERR_INVALID_ARG_VALUE`: `The "name" argument <reason>. Received <received>`.
pub fn invalid_value(name: Name<'_>, reason: impl Display, received: impl Display) -> CodedError {
  CodedError::type_error(
    "ERR_INVALID_ARG_VALUE",
    format!("The \"{name}\" argument {reason}. Received {received}"),
  )
}

/// A napi call that failed for a reason other than the argument (or because JS threw).
fn failed(name: Name<'_>) -> impl FnOnce(napi::Error) -> CodedError + '_ {
  move |e| {
    CodedError::new(
      "ERR_INTERNAL",
      format!(
        "reading the \"{name}\" argument failed: {} ({})",
        e.reason, e.status
      ),
    )
  }
}

fn check(status: sys::napi_status, name: Name<'_>) -> Result<(), CodedError> {
  if status == sys::Status::napi_ok {
    Ok(())
  } else {
    Err(failed(name)(napi::Error::new(
      napi::Status::from(status),
      "napi call failed",
    )))
  }
}

fn type_of(value: Unknown<'_>, name: Name<'_>) -> Result<ValueType, CodedError> {
  value.get_type().map_err(failed(name))
}

fn is_nullish(value: Unknown<'_>, name: Name<'_>) -> Result<bool, CodedError> {
  Ok(matches!(
    type_of(value, name)?,
    ValueType::Undefined | ValueType::Null
  ))
}

/// `conv(value)`, or `None` for `undefined` and `null`.
pub fn optional<'e, T>(
  value: Unknown<'e>,
  name: Name<'_>,
  conv: impl FnOnce(Unknown<'e>, Name<'_>) -> Result<T, CodedError>,
) -> Result<Option<T>, CodedError> {
  if is_nullish(value, name)? {
    return Ok(None);
  }
  conv(value, name).map(Some)
}

pub fn string(value: Unknown<'_>, name: Name<'_>) -> Result<String, CodedError> {
  if type_of(value, name)? != ValueType::String {
    return Err(invalid_type(name, "of type string", value));
  }
  // SAFETY: the type was checked just above.
  unsafe { value.cast::<String>() }.map_err(failed(name))
}

pub fn boolean(value: Unknown<'_>, name: Name<'_>) -> Result<bool, CodedError> {
  if type_of(value, name)? != ValueType::Boolean {
    return Err(invalid_type(name, "of type boolean", value));
  }
  // SAFETY: the type was checked just above.
  unsafe { value.cast::<bool>() }.map_err(failed(name))
}

/// Any number, NaN and ±Infinity included: callers check the range.
fn number(value: Unknown<'_>, name: Name<'_>) -> Result<f64, CodedError> {
  if type_of(value, name)? != ValueType::Number {
    return Err(invalid_type(name, "of type number", value));
  }
  // SAFETY: the type was checked just above.
  unsafe { value.cast::<f64>() }.map_err(failed(name))
}

/// An integer from `min` to `max` (both at most [`MAX_SAFE_INTEGER`]).
pub fn integer(value: Unknown<'_>, name: Name<'_>, min: u64, max: u64) -> Result<u64, CodedError> {
  let n = number(value, name)?;
  if n.fract() == 0.0 && n >= min as f64 && n <= max as f64 {
    Ok(n as u64)
  } else {
    Err(invalid_value(
      name,
      format_args!("must be an integer from {min} to {max}"),
      js_number(n),
    ))
  }
}

/// A duration or a time as a non-negative number of `unit`s; a fraction is dropped.
fn whole_units(value: Unknown<'_>, name: Name<'_>, unit: &str) -> Result<u64, CodedError> {
  let n = number(value, name)?;
  if n >= 0.0 && n <= MAX_SAFE_INTEGER as f64 {
    Ok(n as u64)
  } else {
    Err(invalid_value(
      name,
      format_args!("must be a non-negative number of {unit} up to {MAX_SAFE_INTEGER}"),
      js_number(n),
    ))
  }
}

/// Milliseconds (a time since the epoch, or a duration).
pub fn ms(value: Unknown<'_>, name: Name<'_>) -> Result<u64, CodedError> {
  whole_units(value, name, "milliseconds")
}

pub fn seconds(value: Unknown<'_>, name: Name<'_>) -> Result<u64, CodedError> {
  whole_units(value, name, "seconds")
}

/// A count of bytes: an integer from 0 to [`MAX_SAFE_INTEGER`].
pub fn byte_count(value: Unknown<'_>, name: Name<'_>) -> Result<u64, CodedError> {
  integer(value, name, 0, MAX_SAFE_INTEGER)
}

/// An `Array`, each element converted with `conv` (named `name[i]`).
pub fn array<'e, T>(
  value: Unknown<'e>,
  name: Name<'_>,
  mut conv: impl FnMut(Unknown<'e>, Name<'_>) -> Result<T, CodedError>,
) -> Result<Vec<T>, CodedError> {
  let (env, raw) = (value.value().env, value.raw());
  let mut is_array = false;
  // SAFETY: `env` and `raw` come from a live value of this call.
  check(unsafe { sys::napi_is_array(env, raw, &mut is_array) }, name)?;
  if !is_array {
    return Err(invalid_type(name, "an instance of Array", value));
  }
  let mut len = 0;
  // SAFETY: as above; `raw` is an array.
  check(
    unsafe { sys::napi_get_array_length(env, raw, &mut len) },
    name,
  )?;
  let mut out = Vec::with_capacity(len as usize);
  for i in 0..len {
    let mut element = ptr::null_mut();
    // SAFETY: as above.
    check(
      unsafe { sys::napi_get_element(env, raw, i, &mut element) },
      name,
    )?;
    // SAFETY: napi returned a value of this env.
    let element = unsafe { Unknown::from_raw_unchecked(env, element) };
    out.push(conv(element, &Index(name, i))?);
  }
  Ok(out)
}

pub fn string_array(value: Unknown<'_>, name: Name<'_>) -> Result<Vec<String>, CodedError> {
  array(value, name, string)
}

/// An object (not `null`, an array or a function), read field by field with [`Obj::read`].
pub fn object<'e, 'n>(value: Unknown<'e>, name: Name<'n>) -> Result<Obj<'e, 'n>, CodedError> {
  let is_object = type_of(value, name)? == ValueType::Object;
  let mut is_array = false;
  if is_object {
    // SAFETY: the value is a live object of this call.
    let status = unsafe { sys::napi_is_array(value.value().env, value.raw(), &mut is_array) };
    check(status, name)?;
  }
  if !is_object || is_array {
    return Err(invalid_type(name, "of type object", value));
  }
  // SAFETY: the type was checked just above.
  let object = unsafe { value.cast::<Object<'e>>() }.map_err(failed(name))?;
  Ok(Obj { object, name })
}

/// An object argument, read one named property at a time.
pub struct Obj<'e, 'n> {
  object: Object<'e>,
  name: Name<'n>,
}

impl<'e> Obj<'e, '_> {
  /// The property `key` (`undefined` when absent).
  pub fn get(&self, key: &CStr) -> Result<Unknown<'e>, CodedError> {
    let (env, raw) = (self.object.value().env, self.object.raw());
    let mut value = ptr::null_mut();
    let name = Field(self.name, key.to_str().unwrap_or("?"));
    // SAFETY: `env` and `raw` come from a live object of this call.
    check(
      unsafe { sys::napi_get_named_property(env, raw, key.as_ptr(), &mut value) },
      &name,
    )?;
    // SAFETY: napi returned a value of this env.
    Ok(unsafe { Unknown::from_raw_unchecked(env, value) })
  }

  /// The property `key` converted with `conv`, named `name.key`.
  pub fn read<T>(
    &self,
    key: &CStr,
    conv: impl FnOnce(Unknown<'e>, Name<'_>) -> Result<T, CodedError>,
  ) -> Result<T, CodedError> {
    let value = self.get(key)?;
    conv(value, &Field(self.name, key.to_str().unwrap_or("?")))
  }

  /// An optional property: `None` when it is `undefined` or `null`.
  pub fn read_opt<T>(
    &self,
    key: &CStr,
    conv: impl FnOnce(Unknown<'e>, Name<'_>) -> Result<T, CodedError>,
  ) -> Result<Option<T>, CodedError> {
    let value = self.get(key)?;
    optional(value, &Field(self.name, key.to_str().unwrap_or("?")), conv)
  }

  /// The property `key` of an object used as a record (`env.HOME`) converted with `conv`, if
  /// the object has it as its own (`Object.hasOwn`).
  pub fn read_own<T>(
    &self,
    key: &str,
    conv: impl FnOnce(Unknown<'e>, Name<'_>) -> Result<T, CodedError>,
  ) -> Result<Option<T>, CodedError> {
    let name = Field(self.name, key);
    if !self.object.has_own_property(key).map_err(failed(&name))? {
      return Ok(None);
    }
    let value = self
      .object
      .get_named_property_unchecked::<Unknown<'e>>(key)
      .map_err(failed(&name))?;
    conv(value, &name).map(Some)
  }
}

/// A `Record<string, string>`: the object's enumerable string keys and their values, which
/// must be strings (an `undefined` value is left out, as napi-rs's `HashMap` conversion does).
pub fn string_record(
  value: Unknown<'_>,
  name: Name<'_>,
) -> Result<Vec<(String, String)>, CodedError> {
  let record = object(value, name)?;
  let keys = Object::keys(&record.object).map_err(failed(name))?;
  let mut out = Vec::with_capacity(keys.len());
  for key in keys {
    let field = Field(name, &key);
    let value = record
      .object
      .get::<Unknown<'_>>(&key)
      .map_err(failed(&field))?;
    if let Some(value) = value {
      let value = string(value, &field)?;
      out.push((key, value));
    }
  }
  Ok(out)
}

/// The bytes of a `Uint8Array` (a `Buffer` is one), borrowed from JS memory: valid until JS
/// runs again, so read the other arguments first (a getter can detach it) or copy.
/// A detached buffer (its memory transferred with `structuredClone` or `postMessage`) reads
/// as empty; it is refused rather than taken for an empty input.
pub fn bytes<'e>(value: Unknown<'e>, name: Name<'_>) -> Result<&'e [u8], CodedError> {
  let (env, raw) = (value.value().env, value.raw());
  let mut is_typed_array = false;
  // SAFETY: `env` and `raw` come from a live value of this call.
  check(
    unsafe { sys::napi_is_typedarray(env, raw, &mut is_typed_array) },
    name,
  )?;
  if is_typed_array {
    let (mut kind, mut len, mut data, mut buffer, mut offset) =
      (0, 0, ptr::null_mut(), ptr::null_mut(), 0);
    // SAFETY: as above; `raw` is a typed array.
    check(
      unsafe {
        sys::napi_get_typedarray_info(
          env,
          raw,
          &mut kind,
          &mut len,
          &mut data,
          &mut buffer,
          &mut offset,
        )
      },
      name,
    )?;
    if kind == sys::TypedarrayType::uint8_array {
      if len == 0 || data.is_null() {
        let mut detached = false;
        // SAFETY: `buffer` is the typed array's buffer, a value of this env.
        check(
          unsafe { sys::napi_is_detached_arraybuffer(env, buffer, &mut detached) },
          name,
        )?;
        if detached {
          return Err(invalid_value(
            name,
            "is a detached buffer (its memory was transferred)",
            received(value),
          ));
        }
        return Ok(&[]);
      }
      // SAFETY: napi reports `len` bytes at `data`, alive while JS does not run.
      return Ok(unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) });
    }
  }
  Err(invalid_type(
    name,
    "an instance of Buffer or Uint8Array",
    value,
  ))
}

/// What was received, as Node's argument errors say it: `undefined`, `type number (42)`,
/// `type string ('x')`, `an instance of Array`. Never runs JS (no property is read).
fn received(value: Unknown<'_>) -> String {
  let shown = |text: String| {
    if text.chars().count() > 28 {
      format!("{}...", text.chars().take(25).collect::<String>())
    } else {
      text
    }
  };
  // SAFETY (the casts): each follows a check of the value's type.
  match value.get_type() {
    Ok(ValueType::Undefined) => "undefined".to_owned(),
    Ok(ValueType::Null) => "null".to_owned(),
    Ok(ValueType::Boolean) => match unsafe { value.cast::<bool>() } {
      Ok(b) => format!("type boolean ({b})"),
      Err(_) => "type boolean".to_owned(),
    },
    Ok(ValueType::Number) => match unsafe { value.cast::<f64>() } {
      Ok(n) => format!("type number ({})", shown(js_number(n))),
      Err(_) => "type number".to_owned(),
    },
    Ok(ValueType::String) => match unsafe { value.cast::<String>() } {
      Ok(s) => format!("type string ({})", shown(format!("'{s}'"))),
      Err(_) => "type string".to_owned(),
    },
    Ok(ValueType::Symbol) => "type symbol".to_owned(),
    Ok(ValueType::BigInt) => "type bigint".to_owned(),
    Ok(ValueType::Function) => "a function".to_owned(),
    Ok(ValueType::Object) => match object_class(value) {
      Some(class) => format!("an instance of {class}"),
      None => "an object".to_owned(),
    },
    _ => "a value of unknown type".to_owned(),
  }
}

/// The built-in class of an object napi can tell without running JS.
fn object_class(value: Unknown<'_>) -> Option<&'static str> {
  let (env, raw) = (value.value().env, value.raw());
  macro_rules! is {
    ($check:path) => {{
      let mut result = false;
      // SAFETY: `env` and `raw` come from a live value of this call.
      unsafe { $check(env, raw, &mut result) == sys::Status::napi_ok && result }
    }};
  }
  if is!(sys::napi_is_array) {
    return Some("Array");
  }
  if is!(sys::napi_is_typedarray) {
    let mut kind = 0;
    // SAFETY: `raw` is a typed array; napi accepts null for the outputs we do not want.
    let status = unsafe {
      sys::napi_get_typedarray_info(
        env,
        raw,
        &mut kind,
        ptr::null_mut(),
        ptr::null_mut(),
        ptr::null_mut(),
        ptr::null_mut(),
      )
    };
    use sys::TypedarrayType as T;
    return Some(match kind {
      _ if status != sys::Status::napi_ok => "TypedArray",
      T::int8_array => "Int8Array",
      T::uint8_array => "Uint8Array",
      T::uint8_clamped_array => "Uint8ClampedArray",
      T::int16_array => "Int16Array",
      T::uint16_array => "Uint16Array",
      T::int32_array => "Int32Array",
      T::uint32_array => "Uint32Array",
      T::float32_array => "Float32Array",
      T::float64_array => "Float64Array",
      T::bigint64_array => "BigInt64Array",
      T::biguint64_array => "BigUint64Array",
      _ => "TypedArray",
    });
  }
  if is!(sys::napi_is_arraybuffer) {
    Some("ArrayBuffer")
  } else if is!(sys::napi_is_dataview) {
    Some("DataView")
  } else if is!(sys::napi_is_date) {
    Some("Date")
  } else if is!(sys::napi_is_promise) {
    Some("Promise")
  } else if is!(sys::napi_is_error) {
    Some("Error")
  } else {
    None
  }
}

/// A number as JS prints it (`String(n)`): `NaN`, `-Infinity`, `2.5`, `1e+300`.
fn js_number(n: f64) -> String {
  if n.is_nan() {
    "NaN".to_owned()
  } else if n.is_infinite() {
    if n > 0.0 { "Infinity" } else { "-Infinity" }.to_owned()
  } else if n == 0.0 {
    if n.is_sign_negative() { "-0" } else { "0" }.to_owned()
  } else if (1e-6..1e21).contains(&n.abs()) {
    format!("{n}")
  } else {
    let s = format!("{n:e}");
    if s.contains("e-") {
      s
    } else {
      s.replacen('e', "e+", 1)
    }
  }
}

#[cfg(test)]
mod tests {
  use super::js_number;

  #[test]
  fn numbers_print_as_in_js() {
    for (n, js) in [
      (f64::NAN, "NaN"),
      (f64::INFINITY, "Infinity"),
      (f64::NEG_INFINITY, "-Infinity"),
      (-0.0, "-0"),
      (0.0, "0"),
      (-1.0, "-1"),
      (2.5, "2.5"),
      (4294967296.0, "4294967296"),
      (9007199254740992.0, "9007199254740992"),
      (1e21, "1e+21"),
      (1.5e300, "1.5e+300"),
      (1e-7, "1e-7"),
      (1.5e-8, "1.5e-8"),
    ] {
      assert_eq!(js_number(n), js, "{n}");
    }
  }
}
