//! Env-file parsing and `$VAR` expansion, bug-for-bug identical to what `@next/env` 14.0–16.4
//! bundles: dotenv 16.3.1 `parse` and dotenv-expand 10.0.0 `expand`.
//!
//! Pure logic: no file system, no `process.env`, no `std::env`, no napi. The JS layer reads the
//! files (`readFileSync(path, 'utf8')`), passes the text and a `process.env` lookup in, and applies
//! the writes. It refuses to "fix" anything: newer dotenv/dotenv-expand semantics (`${VAR-default}`,
//! no expansion of single-quoted values, self-references left alone) would change what people's
//! apps see, so the silent surprises are reported by the opt-in [`parse_detailed`] and
//! [`expand_detailed`] instead.
//!
//! The one thing to know: every rule here is a JavaScript behaviour — JS's whitespace set, regex
//! line terminators (U+2028/U+2029 included), object key order (array-index keys first), `||`
//! treating `""` as missing, and `String.prototype.replace` quirks. Each is pinned by a test
//! checked against the real packages; change nothing without re-running those oracles
//! (`tests/oracle/`).
//!
//! No dependencies.

mod expand;
mod explain;
mod js;
mod load;
mod parse;

pub use expand::{
  expand_detailed, ExpandError, ExpandReport, ExpandWarning, ExpandWarningKind, KeyExpansion,
  Reference, Source, MAX_INTERPOLATION_STEPS,
};
pub use explain::{explain, Definition, EnvFile, Explanation, Origin, Variable, Warning};
pub use load::load_files;
pub use parse::{
  parse_detailed, ParseWarning, ParseWarningKind, ParsedEntry, ParsedFile, QuoteKind,
};

/// dotenv 16.3.1 `parse(src)`. Pairs in the order a JS object would iterate them
/// (integer-like keys first in ascending numeric order, then string keys in first-insertion order);
/// a later duplicate overwrites the value but keeps the first position.
///
/// `src` is the text `readFileSync(path, 'utf8')` produced. Never fails: lines dotenv cannot read
/// are skipped, as upstream does.
pub fn parse(src: &str) -> Vec<(String, String)> {
  parse::parse(src)
}

/// dotenv-expand 10.0.0 `expand({ parsed })` with `environment = process.env`, emulated without
/// touching any real environment. `env` is a lookup into the current process.env.
/// Ok(values): the final `parsed` object after expansion, same key order — exactly the key/values
/// dotenv-expand assigns into process.env for this file.
/// Err(ExpandError::SelfReference{..}) where upstream recurses forever and throws
/// `RangeError: Maximum call stack size exceeded` (the caller then drops the whole file and logs).
///
/// `env(name)` must answer like `Object.hasOwn(process.env, name) ? process.env[name] : undefined`
/// (own properties only; inherited members such as `constructor` are emulated here). It is called
/// at most once per distinct name. Other `Err` variants mirror the other exceptions upstream can
/// throw ([`ExpandError::js_error`]); @next/env treats them all alike.
pub fn expand(
  parsed: Vec<(String, String)>,
  env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<(String, String)>, ExpandError> {
  expand::expand(parsed, env)
}
