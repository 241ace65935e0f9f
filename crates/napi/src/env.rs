//! Env-file parsing and expansion (`crates/env`) for `lib/env.js`, which keeps every
//! `process.env` read and write on the JS side.

use std::cell::Cell;

use napi::bindgen_prelude::Unknown;
use napi::Env;
use napi_derive::napi;
use next_native_env as core;

use crate::args::{self, Name};
use crate::error::{run_sync, CodedError};

#[napi(object, object_from_js = false)]
pub struct EnvFileOutcome {
  /// The keys and values dotenv-expand writes into `process.env` for this file, flattened
  /// as `[key0, value0, key1, value1, ...]`, in JS object key order.
  pub entries: Vec<String>,
  /// Set when upstream throws for this file (the file is dropped): the JS error's name,
  /// e.g. `RangeError`.
  pub error_name: Option<String>,
  /// The JS error's message, e.g. `Maximum call stack size exceeded`.
  pub error_message: Option<String>,
}

/// The lookup the core crate expands against: `Object.hasOwn(env, name) ? env[name] :
/// undefined`, read through napi, lazily (only the names the files use). Property reads on
/// `process.env` cost ~0.5 µs; a JS callback per name cost ~3 µs (6 ms for a 2,000-line file).
/// A value that is not a string (`env` is a `Record<string, string>`) ends the call with
/// `ERR_INVALID_ARG_TYPE` naming it (`env.HOME`): the first such error is kept in `failed`.
fn lookup<'a>(
  env: &'a args::Obj<'_, '_>,
  failed: &'a Cell<Option<CodedError>>,
) -> impl Fn(&str) -> Option<String> + 'a {
  move |name| match env.read_own(name, args::string) {
    Ok(value) => value,
    Err(e) => {
      let first = failed.take().unwrap_or(e);
      failed.set(Some(first));
      None
    }
  }
}

/// Parses and expands the contents of a project's env files, in load order, as @next/env
/// 14–16.4 would against `env` (the live `process.env`).
#[napi(skip_typescript)]
pub fn env_load_files(
  js_env: Env,
  contents: Unknown<'_>,
  env: Unknown<'_>,
) -> napi::Result<Vec<EnvFileOutcome>> {
  run_sync(&js_env, || {
    let contents = args::string_array(contents, &"contents")?;
    let env = args::object(env, &"env")?;
    let failed = Cell::new(None);
    let files: Vec<&str> = contents.iter().map(String::as_str).collect();
    let results = core::load_files(&files, &lookup(&env, &failed));
    if let Some(e) = failed.take() {
      return Err(e);
    }
    Ok(results.into_iter().map(outcome).collect())
  })
}

fn outcome(result: Result<Vec<(String, String)>, core::ExpandError>) -> EnvFileOutcome {
  match result {
    Ok(values) => EnvFileOutcome {
      entries: values.into_iter().flat_map(|(k, v)| [k, v]).collect(),
      error_name: None,
      error_message: None,
    },
    Err(err) => {
      let (name, message) = err
        .js_error()
        .split_once(": ")
        .unwrap_or(("Error", err.js_error()));
      EnvFileOutcome {
        entries: Vec::new(),
        error_name: Some(name.to_owned()),
        error_message: Some(message.to_owned()),
      }
    }
  }
}

#[napi(object)]
pub struct EnvFileInput {
  pub path: String,
  pub contents: String,
}

/// An `EnvFileInput` (an element of `files`).
fn file_input(value: Unknown<'_>, name: Name<'_>) -> Result<EnvFileInput, CodedError> {
  let o = args::object(value, name)?;
  Ok(EnvFileInput {
    path: o.read(c"path", args::string)?,
    contents: o.read(c"contents", args::string)?,
  })
}

#[napi(object)]
pub struct EnvDefinition {
  pub file: String,
  pub line: u32,
  /// `none`, `single`, `double` or `backtick`.
  pub quote: String,
  /// The value as parsed, before expansion.
  pub raw: String,
}

#[napi(object)]
pub struct EnvReference {
  pub name: String,
  /// The reference as written, e.g. `${DB_HOST:-localhost}`.
  pub text: String,
  /// `process.env`, `default`, `same-file`, `empty` or `js-builtin`.
  pub source: String,
  pub inserted: String,
}

#[napi(object)]
pub struct EnvVariable {
  pub key: String,
  pub value: String,
  /// `process.env` when the variable was already set (files never override it), else the file.
  pub source: String,
  /// The line in `source`, when it is a file.
  pub line: Option<u32>,
  pub definitions: Vec<EnvDefinition>,
  pub references: Vec<EnvReference>,
}

#[napi(object)]
pub struct EnvWarning {
  pub file: String,
  pub line: Option<u32>,
  pub key: Option<String>,
  pub code: String,
  pub message: String,
}

#[napi(object)]
pub struct EnvExplanation {
  pub variables: Vec<EnvVariable>,
  pub warnings: Vec<EnvWarning>,
}

/// Where each variable of the given files (in load order) comes from, without touching
/// `process.env` (`env` is the environment before loading).
#[napi(skip_typescript)]
pub fn env_explain(
  js_env: Env,
  files: Unknown<'_>,
  env: Unknown<'_>,
) -> napi::Result<EnvExplanation> {
  run_sync(&js_env, || {
    let files = args::array(files, &"files", file_input)?;
    let env = args::object(env, &"env")?;
    let failed = Cell::new(None);
    let inputs: Vec<core::EnvFile<'_>> = files
      .iter()
      .map(|f| core::EnvFile {
        path: &f.path,
        contents: &f.contents,
      })
      .collect();
    let e = core::explain(&inputs, &lookup(&env, &failed));
    if let Some(e) = failed.take() {
      return Err(e);
    }
    Ok(EnvExplanation {
      variables: e.variables.into_iter().map(variable).collect(),
      warnings: e
        .warnings
        .into_iter()
        .map(|w| EnvWarning {
          file: w.file,
          line: w.line.map(line),
          key: w.key,
          code: w.code.to_owned(),
          message: w.message,
        })
        .collect(),
    })
  })
}

fn line(n: usize) -> u32 {
  u32::try_from(n).unwrap_or(u32::MAX)
}

fn variable(v: core::Variable) -> EnvVariable {
  let (source, at) = match v.origin {
    core::Origin::ProcessEnv => ("process.env".to_owned(), None),
    core::Origin::File { file, line: l } => (file, Some(line(l))),
  };
  EnvVariable {
    key: v.key,
    value: v.value,
    source,
    line: at,
    definitions: v
      .definitions
      .into_iter()
      .map(|d| EnvDefinition {
        file: d.file,
        line: line(d.line),
        quote: match d.quote {
          core::QuoteKind::None => "none",
          core::QuoteKind::Single => "single",
          core::QuoteKind::Double => "double",
          core::QuoteKind::Backtick => "backtick",
        }
        .to_owned(),
        raw: d.raw,
      })
      .collect(),
    references: v
      .references
      .into_iter()
      .map(|r| EnvReference {
        name: r.name,
        text: r.text,
        source: match r.source {
          core::Source::ProcessEnv => "process.env",
          core::Source::Default => "default",
          core::Source::SameFile => "same-file",
          core::Source::Empty => "empty",
          core::Source::JsBuiltin => "js-builtin",
        }
        .to_owned(),
        inserted: r.inserted,
      })
      .collect(),
  }
}
