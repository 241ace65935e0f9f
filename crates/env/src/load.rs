//! @next/env's per-file loop over one project's env files, minus the JS side effects.

use std::collections::HashMap;

use crate::{expand, parse, ExpandError};

/// A loaded file's `(key, value)` pairs, with an index from each key to its pair.
type LoadedFile = (HashMap<String, usize>, Vec<(String, String)>);

/// Parses and expands each file's text in order (highest priority first, as @next/env reads
/// them), the way @next/env 14–16.4 `processEnv` does: file *n* is expanded against
/// `process.env` *after* files `0..n` wrote their keys into it, so a lower-priority file sees
/// the values of the files before it. Those writes are simulated here; `env` answers for the
/// `process.env` the caller started with (same contract as [`expand`]).
///
/// One result per file: `Ok(values)` is what dotenv-expand writes into `process.env` for that
/// file, `Err` means upstream threw and @next/env drops the whole file (it writes nothing, and
/// the later files do not see it).
pub fn load_files(
  files: &[&str],
  env: &dyn Fn(&str) -> Option<String>,
) -> Vec<Result<Vec<(String, String)>, ExpandError>> {
  // Each loaded file's values, kept once, with an index of its keys. A later file's lookup
  // clones only the values it references, not every value written (cloning all of them was
  // 5 of 7 ms on a 2,000-line file with 8 MB of values).
  let mut loaded: Vec<LoadedFile> = Vec::new();
  let mut outcomes: Vec<Result<usize, ExpandError>> = Vec::with_capacity(files.len());
  for (n, src) in files.iter().enumerate() {
    let result = {
      // The most recent write wins, as in process.env.
      let lookup = |name: &str| {
        loaded
          .iter()
          .rev()
          .find_map(|(keys, values)| keys.get(name).map(|&i| values[i].1.clone()))
          .or_else(|| env(name))
      };
      expand(parse(src), &lookup)
    };
    outcomes.push(result.map(|values| {
      let keys = if n + 1 < files.len() {
        values
          .iter()
          .enumerate()
          .map(|(i, (k, _))| (k.clone(), i))
          .collect()
      } else {
        HashMap::new() // nothing reads the last file's writes
      };
      loaded.push((keys, values));
      loaded.len() - 1
    }));
  }
  let mut values: Vec<Option<Vec<(String, String)>>> =
    loaded.into_iter().map(|(_, v)| Some(v)).collect();
  outcomes
    .into_iter()
    .map(|o| o.map(|i| values[i].take().expect("each loaded file is taken once")))
    .collect()
}

#[cfg(test)]
mod tests {
  use super::*;

  fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
      .iter()
      .map(|(k, v)| (k.to_string(), v.to_string()))
      .collect();
    move |k: &str| map.get(k).cloned()
  }

  #[test]
  fn later_files_see_earlier_files_writes_and_never_override_them() {
    // .env.local defines A; .env references it and redefines it.
    let out = load_files(&["A=local", "B=${A}-x\nA=base"], &env_of(&[]));
    assert_eq!(
      out[0].as_ref().unwrap(),
      &vec![("A".into(), "local".into())]
    );
    // A already in process.env (written by .env.local): its value is kept and re-interpolated.
    assert_eq!(
      out[1].as_ref().unwrap(),
      &vec![("B".into(), "local-x".into()), ("A".into(), "local".into())]
    );
  }

  #[test]
  fn a_file_that_throws_writes_nothing_for_the_files_after_it() {
    let out = load_files(&["X=$X\nY=1", "Z=${Y:-unset}"], &env_of(&[]));
    assert!(matches!(out[0], Err(ExpandError::SelfReference { .. })));
    assert_eq!(
      out[1].as_ref().unwrap(),
      &vec![("Z".into(), "unset".into())]
    );
  }

  #[test]
  fn the_initial_env_is_read_through_the_callback() {
    let out = load_files(&["U=$HOME/x"], &env_of(&[("HOME", "/root")]));
    assert_eq!(
      out[0].as_ref().unwrap(),
      &vec![("U".into(), "/root/x".into())]
    );
  }
}
