//! Build-ID hashing (`crates/build_id`): options in, manifest JSON and IDs out.

use std::collections::HashMap;
use std::path::PathBuf;

use napi::bindgen_prelude::{AsyncTask, Unknown};
use napi::Env;
use napi_derive::napi;
use next_native_build_id as core;

use crate::args;
use crate::error::{run_sync, CodedError, CoreError};
use crate::task::{AbortableJob, Work};

impl CoreError for core::BuildIdError {
  fn code(&self) -> &'static str {
    core::BuildIdError::code(self)
  }
}

/// Everything that goes into the hash, given explicitly. `@rs/next-native/build-id`
/// fills `envValues` from `process.env` and `nextVersion` from the installed `next`.
// Declares the argument's type in index.d.ts; `hash_options` reads it, checked (crate::args).
#[allow(dead_code)]
#[napi(object)]
pub struct HashTreeOptions {
  /// The project directory (absolute, or relative to the current directory).
  pub dir: String,
  /// Only files matching one of these globs are inputs (config and lockfiles always are).
  pub include: Option<Vec<String>>,
  /// Files and directories matching these globs are not inputs.
  pub exclude: Option<Vec<String>>,
  /// Env vars to hash, name → value. Values go into the digest, never into the manifest.
  pub env_values: Option<HashMap<String, String>>,
  /// The installed Next.js version.
  pub next_version: Option<String>,
  /// Any extra string that should change the ID.
  pub salt: Option<String>,
  /// next.config `distDir`, excluded when it lies inside `dir` (`.next` always is).
  pub dist_dir: Option<String>,
}

#[napi(object)]
pub struct TreeHash {
  /// 26 characters of `[2-9b-z]` without `a` or `d` (so never `ad`).
  pub build_id: String,
  /// 32 characters, valid for next.config `deploymentId`; starts with `buildId`.
  pub deployment_id: String,
  /// The per-file manifest, as JSON (the format `--manifest` writes and `--explain` reads).
  pub manifest_json: String,
}

/// `HashTreeOptions` from JS, each field checked against its declared type.
fn hash_options(options: Unknown<'_>) -> Result<core::Options, CodedError> {
  let o = args::object(options, &"options")?;
  Ok(core::Options {
    dir: PathBuf::from(o.read(c"dir", args::string)?),
    include: o
      .read_opt(c"include", args::string_array)?
      .unwrap_or_default(),
    exclude: o
      .read_opt(c"exclude", args::string_array)?
      .unwrap_or_default(),
    env: o
      .read_opt(c"envValues", args::string_record)?
      .unwrap_or_default()
      .into_iter()
      .collect(),
    next_version: o.read_opt(c"nextVersion", args::string)?,
    salt: o.read_opt(c"salt", args::string)?,
    dist_dir: o.read_opt(c"distDir", args::string)?,
  })
}

fn hash_tree_impl(options: &core::Options) -> Result<TreeHash, CodedError> {
  let manifest = core::hash_tree(options)?;
  Ok(TreeHash {
    build_id: core::build_id(&manifest),
    deployment_id: core::deployment_id(&manifest),
    manifest_json: manifest.to_json(),
  })
}

pub struct HashTreeWork(core::Options);

impl Work for HashTreeWork {
  type Output = TreeHash;
  type JsValue = TreeHash;

  fn run(&mut self) -> Result<TreeHash, CodedError> {
    hash_tree_impl(&self.0)
  }

  fn into_js(_env: &Env, output: TreeHash) -> napi::Result<TreeHash> {
    Ok(output)
  }
}

/// Hashes the project tree on a worker thread (the walk itself is parallel). Once `signal`
/// fires, rejects with an `AbortError` (`code: 'ERR_BUILD_ID_ABORTED'`) when the work has stopped.
#[napi(ts_return_type = "Promise<TreeHash>")]
pub fn hash_tree(
  env: Env,
  #[napi(ts_arg_type = "HashTreeOptions")] options: Unknown<'_>,
  #[napi(ts_arg_type = "AbortSignal | undefined | null")] signal: Option<Unknown<'_>>,
) -> napi::Result<AsyncTask<AbortableJob<HashTreeWork>>> {
  let options = run_sync(&env, || hash_options(options))?;
  AbortableJob::task(
    &env,
    HashTreeWork(options),
    signal,
    "ERR_BUILD_ID_ABORTED",
    "hashTree was aborted (its AbortSignal fired)",
  )
}

/// `hashTree` on the calling thread.
#[napi]
pub fn hash_tree_sync(
  env: Env,
  #[napi(ts_arg_type = "HashTreeOptions")] options: Unknown<'_>,
) -> napi::Result<TreeHash> {
  run_sync(&env, || hash_tree_impl(&hash_options(options)?))
}

/// Lists what changed from manifest `before` to manifest `after` (both JSON), as a JSON
/// array of changes. Each manifest's digest is verified first.
#[napi]
pub fn explain_manifests(
  env: Env,
  #[napi(ts_arg_type = "string")] before: Unknown<'_>,
  #[napi(ts_arg_type = "string")] after: Unknown<'_>,
) -> napi::Result<String> {
  run_sync(&env, || {
    let before = args::string(before, &"before")?;
    let after = args::string(after, &"after")?;
    // The core's error says what is wrong; which of the two it is, only this layer knows.
    let parse = |json: &str, name: &str| -> Result<core::Manifest, CodedError> {
      let checked = core::Manifest::from_json(json).and_then(|m| m.verify().map(|()| m));
      checked.map_err(|e| {
        let e = CodedError::from(e);
        CodedError {
          message: format!("The \"{name}\" manifest is invalid: {}", e.message),
          ..e
        }
      })
    };
    let changes = core::explain(&parse(&before, "before")?, &parse(&after, "after")?);
    serde_json::to_string(&changes).map_err(|e| CodedError::new("ERR_INTERNAL", e.to_string()))
  })
}
