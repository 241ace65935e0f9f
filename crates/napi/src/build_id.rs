//! Build-ID hashing (`crates/build_id`): options in, manifest JSON and IDs out.

use std::collections::HashMap;
use std::path::PathBuf;

use napi::bindgen_prelude::{AsyncTask, Unknown};
use napi::Env;
use napi_derive::napi;
use next_native_build_id as core;

use crate::error::{run_sync, CodedError, CoreError};
use crate::task::{AbortableJob, Work};

impl CoreError for core::BuildIdError {
  fn code(&self) -> &'static str {
    core::BuildIdError::code(self)
  }
}

/// Everything that goes into the hash, given explicitly. `@rs/next-native/build-id`
/// fills `envValues` from `process.env` and `nextVersion` from the installed `next`.
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

impl From<HashTreeOptions> for core::Options {
  fn from(o: HashTreeOptions) -> Self {
    core::Options {
      dir: PathBuf::from(o.dir),
      include: o.include.unwrap_or_default(),
      exclude: o.exclude.unwrap_or_default(),
      env: o.env_values.unwrap_or_default().into_iter().collect(),
      next_version: o.next_version,
      salt: o.salt,
      dist_dir: o.dist_dir,
    }
  }
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
  options: HashTreeOptions,
  #[napi(ts_arg_type = "AbortSignal | undefined | null")] signal: Option<Unknown<'_>>,
) -> napi::Result<AsyncTask<AbortableJob<HashTreeWork>>> {
  AbortableJob::task(
    &env,
    HashTreeWork(options.into()),
    signal,
    "ERR_BUILD_ID_ABORTED",
    "hashTree was aborted (its AbortSignal fired)",
  )
}

/// `hashTree` on the calling thread.
#[napi]
pub fn hash_tree_sync(env: Env, options: HashTreeOptions) -> napi::Result<TreeHash> {
  run_sync(&env, || hash_tree_impl(&options.into()))
}

/// Lists what changed from manifest `before` to manifest `after` (both JSON), as a JSON
/// array of changes. Each manifest's digest is verified first.
#[napi]
pub fn explain_manifests(env: Env, before: String, after: String) -> napi::Result<String> {
  run_sync(&env, || {
    let parse = |json: &str| -> Result<core::Manifest, CodedError> {
      let manifest = core::Manifest::from_json(json)?;
      manifest.verify()?;
      Ok(manifest)
    };
    let changes = core::explain(&parse(&before)?, &parse(&after)?);
    serde_json::to_string(&changes).map_err(|e| CodedError::new("ERR_INTERNAL", e.to_string()))
  })
}
