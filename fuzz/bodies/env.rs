//! Fuzz body for `next_native_env`, shared by fuzz/fuzz_targets/env.rs and the stable replay
//! test (crates/env/tests/fuzz_corpus.rs). Public API only.
//!
//! Input: sections separated by 0xFF (a byte UTF-8 never contains). Section 0 is the
//! `process.env` that exists before loading, `NAME=VALUE` pairs separated by NUL; sections 1–4
//! are env files in @next/env's load order, decoded as `readFileSync(path, 'utf8')` decodes
//! them (invalid UTF-8 becomes U+FFFD).

#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use next_native_env::{
  expand, expand_detailed, explain, load_files, parse, parse_detailed, EnvFile,
};

const MAX_FILES: usize = 4;

/// Splits fuzz bytes into the pre-existing environment and the files' texts.
pub fn split(data: &[u8]) -> (HashMap<String, String>, Vec<String>) {
  let mut sections = data.split(|&b| b == 0xFF);
  let env = sections
    .next()
    .unwrap_or_default()
    .split(|&b| b == 0)
    .filter(|pair| !pair.is_empty())
    .map(|pair| {
      let pair = String::from_utf8_lossy(pair);
      match pair.split_once('=') {
        Some((k, v)) => (k.to_owned(), v.to_owned()),
        None => (pair.into_owned(), String::new()),
      }
    })
    .collect();
  let files = sections
    .take(MAX_FILES)
    .map(|s| String::from_utf8_lossy(s).into_owned())
    .collect();
  (env, files)
}

/// The inverse of [`split`] (for the seed generator).
pub fn join(env: &[(&str, &str)], files: &[&str]) -> Vec<u8> {
  let mut out = Vec::new();
  for (i, (k, v)) in env.iter().enumerate() {
    if i > 0 {
      out.push(0);
    }
    out.extend_from_slice(format!("{k}={v}").as_bytes());
  }
  for f in files {
    out.push(0xFF);
    out.extend_from_slice(f.as_bytes());
  }
  out
}

pub fn env(data: &[u8]) {
  let (env, files) = split(data);
  let lookup = |name: &str| env.get(name).cloned();

  for src in &files {
    // `parse_detailed` returns exactly `parse`'s entries, in the same order.
    let pairs = parse(src);
    let detailed = parse_detailed(src);
    let same: Vec<(String, String)> = detailed
      .entries
      .iter()
      .map(|e| (e.key.clone(), e.value.clone()))
      .collect();
    assert_eq!(pairs, same, "parse vs parse_detailed");
    let keys: HashSet<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys.len(), pairs.len(), "duplicate keys in parse output");

    // `expand` asks the environment at most once per name, and `expand_detailed` agrees.
    let asked = RefCell::new(HashMap::<String, usize>::new());
    let counting = |name: &str| {
      *asked.borrow_mut().entry(name.to_owned()).or_default() += 1;
      lookup(name)
    };
    let expanded = expand(pairs.clone(), &counting);
    if let Some((name, n)) = asked.borrow().iter().find(|(_, &n)| n > 1) {
      panic!("env({name:?}) called {n} times");
    }
    let report = expand_detailed(pairs.clone(), &lookup);
    match (&expanded, &report) {
      (Ok(values), Ok(report)) => {
        assert_eq!(values, &report.values, "expand vs expand_detailed");
        let keys: Vec<&str> = values.iter().map(|(k, _)| k.as_str()).collect();
        let parsed: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, parsed, "expansion keeps the parsed keys and order");
      }
      (Err(a), Err(b)) => assert_eq!(a, b),
      _ => panic!(
        "expand {expanded:?} vs expand_detailed {:?}",
        report.as_ref().map(|r| &r.values)
      ),
    }
  }

  // The per-file load loop: file 0 sees only the initial environment.
  let texts: Vec<&str> = files.iter().map(String::as_str).collect();
  let loaded = load_files(&texts, &lookup);
  assert_eq!(loaded.len(), files.len());
  if let Some(first) = files.first() {
    assert_eq!(
      loaded[0],
      expand(parse(first), &lookup),
      "load_files, file 0"
    );
  }

  // `explain` simulates the same writes: it drops exactly the files load_files fails on, and
  // each variable's value is the one the last loaded file that defines it wrote.
  let names: Vec<String> = (0..files.len()).map(|i| format!(".env.{i}")).collect();
  let env_files: Vec<EnvFile> = files
    .iter()
    .zip(&names)
    .map(|(contents, path)| EnvFile { path, contents })
    .collect();
  let explanation = explain(&env_files, &lookup);
  for (i, result) in loaded.iter().enumerate() {
    let dropped = explanation
      .warnings
      .iter()
      .any(|w| w.code == "file-dropped" && w.file == names[i]);
    assert_eq!(dropped, result.is_err(), "file {i}: {result:?}");
  }
  let mut last: HashMap<&str, &str> = HashMap::new();
  for values in loaded.iter().flatten() {
    for (k, v) in values {
      last.insert(k, v);
    }
  }
  for var in &explanation.variables {
    assert_eq!(
      last.get(var.key.as_str()).copied(),
      Some(var.value.as_str()),
      "explain's value of {:?}",
      var.key
    );
  }
  assert_eq!(
    last.len(),
    explanation.variables.len(),
    "explain lists every loaded key"
  );
}
