//! The one error type. Every variant that concerns a file names it, because the only useful
//! answer to "why did the build ID fail" is "which path".

use std::io;
use std::path::{Path, PathBuf};

/// Why [`crate::hash_tree`] (or [`crate::Manifest::verify`]) failed.
///
/// Paths in messages are the paths as we opened them (the project `dir` joined with the relative
/// path), so they are absolute if `dir` was.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildIdError {
  /// `dir` does not exist or cannot be inspected.
  #[error("project directory {}: {source}", path.display())]
  ProjectDir {
    path: PathBuf,
    #[source]
    source: io::Error,
  },
  /// `dir` exists but is not a directory.
  #[error("project directory {} is not a directory", path.display())]
  NotADirectory { path: PathBuf },
  /// Reading a file, a symlink or a directory failed (permission denied, vanished mid-walk…).
  /// We never skip such an input: a skipped file would give two machines different IDs.
  #[error("cannot read {}: {source}", path.display())]
  Io {
    path: PathBuf,
    #[source]
    source: io::Error,
  },
  /// A socket, FIFO or device node inside the tree. Their "content" is not reproducible.
  #[error(
        "{} is not a regular file, directory or symlink (socket, FIFO or device); \
         exclude it with a .gitignore rule or an `exclude` glob",
        path.display()
    )]
  SpecialFile { path: PathBuf },
  /// A file name that is not UTF-8. Manifests are JSON and paths must round-trip exactly.
  #[error("{} has a file name that is not valid UTF-8", path.display())]
  NonUtf8Path { path: PathBuf },
  /// A `.gitignore` the walk could not use (unreadable, or a pattern that does not parse).
  #[error("ignore rules{}: {message}", path.as_deref().map(|p| format!(" in {}", p.display())).unwrap_or_default())]
  IgnoreRules {
    path: Option<PathBuf>,
    message: String,
  },
  /// An `include` or `exclude` glob that does not parse.
  #[error("invalid {list} glob {glob:?}: {message}")]
  Glob {
    list: &'static str,
    glob: String,
    message: String,
  },
  /// The same env var name was passed twice; which value wins would be a guess.
  #[error("env var {name:?} was given more than once")]
  DuplicateEnv { name: String },
  /// `dist_dir` would exclude the whole project.
  #[error("invalid distDir {dist_dir:?}: {reason}")]
  InvalidDistDir {
    dist_dir: String,
    reason: &'static str,
  },
  /// A manifest whose `digest` does not match its own contents (edited by hand, or truncated).
  #[error("manifest digest {recorded} does not match its contents ({computed})")]
  ManifestDigestMismatch { recorded: String, computed: String },
  /// A manifest file that is not valid manifest JSON.
  #[error("invalid manifest JSON: {message}")]
  ManifestJson { message: String },
  /// A manifest written by a newer (or unknown) version of the canonical encoding.
  #[error("manifest format version {found} is not supported (this build writes {supported})")]
  UnsupportedFormat { found: u32, supported: u32 },
}

impl BuildIdError {
  /// A stable, machine-readable code for the binding layer (`err.code` in JS).
  pub fn code(&self) -> &'static str {
    match self {
      BuildIdError::ProjectDir { .. } => "BUILD_ID_PROJECT_DIR",
      BuildIdError::NotADirectory { .. } => "BUILD_ID_NOT_A_DIRECTORY",
      BuildIdError::Io { .. } => "BUILD_ID_IO",
      BuildIdError::SpecialFile { .. } => "BUILD_ID_SPECIAL_FILE",
      BuildIdError::NonUtf8Path { .. } => "BUILD_ID_NON_UTF8_PATH",
      BuildIdError::IgnoreRules { .. } => "BUILD_ID_IGNORE_RULES",
      BuildIdError::Glob { .. } => "BUILD_ID_GLOB",
      BuildIdError::DuplicateEnv { .. } => "BUILD_ID_DUPLICATE_ENV",
      BuildIdError::InvalidDistDir { .. } => "BUILD_ID_INVALID_DIST_DIR",
      BuildIdError::ManifestDigestMismatch { .. } => "BUILD_ID_MANIFEST_DIGEST_MISMATCH",
      BuildIdError::UnsupportedFormat { .. } => "BUILD_ID_UNSUPPORTED_FORMAT",
      BuildIdError::ManifestJson { .. } => "BUILD_ID_MANIFEST_JSON",
    }
  }

  /// The path this error is about, if it is about one. Used to pick the error to report
  /// deterministically when several threads fail at once.
  pub fn path(&self) -> Option<&Path> {
    match self {
      BuildIdError::ProjectDir { path, .. }
      | BuildIdError::NotADirectory { path }
      | BuildIdError::Io { path, .. }
      | BuildIdError::SpecialFile { path }
      | BuildIdError::NonUtf8Path { path } => Some(path),
      BuildIdError::IgnoreRules { path, .. } => path.as_deref(),
      _ => None,
    }
  }

  pub(crate) fn io(path: &Path, source: io::Error) -> Self {
    BuildIdError::Io {
      path: path.to_path_buf(),
      source,
    }
  }

  /// Flattens the `ignore` crate's nested error (`WithPath`/`WithDepth`/`Partial`/`Io`/`Glob`)
  /// into ours, keeping the innermost path and the `io::Error` when there is one.
  pub(crate) fn from_walk(err: ignore::Error) -> Self {
    fn go(err: ignore::Error, path: Option<PathBuf>) -> BuildIdError {
      match err {
        ignore::Error::WithPath { path, err } => go(*err, Some(path)),
        ignore::Error::WithDepth { err, .. } => go(*err, path),
        ignore::Error::WithLineNumber { line, err } => match go(*err, path) {
          BuildIdError::IgnoreRules { path, message } => BuildIdError::IgnoreRules {
            path,
            message: format!("line {line}: {message}"),
          },
          other => other,
        },
        ignore::Error::Partial(mut errs) if !errs.is_empty() => go(errs.remove(0), path),
        ignore::Error::Io(source) => match path {
          Some(path) => BuildIdError::Io { path, source },
          None => BuildIdError::IgnoreRules {
            path: None,
            message: source.to_string(),
          },
        },
        other => BuildIdError::IgnoreRules {
          path,
          message: other.to_string(),
        },
      }
    }
    go(err, None)
  }
}
