//! Conformance against upstream: the dotenv 16.3.1 / dotenv-expand 10.0.0 fixtures in
//! `tests/conformance/` (BSD-2-Clause, see its README), and `tests/oracle/oracle.json`
//! (outputs of the real packages for ~3000 hand-written and generated inputs, see
//! `tests/oracle/generate.js`).

use std::collections::HashMap;
use std::path::PathBuf;

use next_native_env::{expand, expand_detailed, parse, parse_detailed, ExpandError};
use serde_json::{Map, Value};

fn fixtures_dir() -> PathBuf {
  PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/conformance")
}

fn read(path: PathBuf) -> String {
  std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn json(path: PathBuf) -> Value {
  serde_json::from_str(&read(path)).expect("valid JSON")
}

fn pairs(obj: &Value) -> Vec<(String, String)> {
  obj
    .as_object()
    .expect("object")
    .iter()
    .map(|(k, v)| (k.clone(), v.as_str().expect("string value").to_owned()))
    .collect()
}

fn entries(arr: &Value) -> Vec<(String, String)> {
  arr
    .as_array()
    .expect("array of [k, v]")
    .iter()
    .map(|e| {
      (
        e[0].as_str().unwrap().to_owned(),
        e[1].as_str().unwrap().to_owned(),
      )
    })
    .collect()
}

fn env_lookup(env: Map<String, Value>) -> impl Fn(&str) -> Option<String> {
  let env: HashMap<String, String> = env
    .into_iter()
    .map(|(k, v)| (k, v.as_str().unwrap().to_owned()))
    .collect();
  move |k| env.get(k).cloned()
}

#[test]
fn dotenv_fixture_files() {
  let dir = fixtures_dir().join("dotenv-16.3.1");
  let expected = json(dir.join("expected.json"));
  for file in ["tests.env", "tests.env-multiline"] {
    let got = parse(&read(dir.join(file)));
    let want = &expected[file];
    let full = pairs(&want["oracle_full_output"]);
    let order: Vec<&str> = want["oracle_key_order"]
      .as_array()
      .unwrap()
      .iter()
      .map(|k| k.as_str().unwrap())
      .collect();
    let got_order: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(got_order, order, "{file}: key order");
    let got_map: HashMap<_, _> = got.iter().cloned().collect();
    for (k, v) in &full {
      assert_eq!(got_map.get(k), Some(v), "{file}: {k}");
    }
    for (k, v) in pairs(&want["asserted_by_upstream"]) {
      assert_eq!(got_map.get(&k), Some(&v), "{file}: upstream assertion {k}");
    }
    for k in want["asserted_absent"].as_array().unwrap() {
      assert!(
        !got_map.contains_key(k.as_str().unwrap()),
        "{file}: {k} must be absent"
      );
    }
    assert_eq!(got.len(), full.len(), "{file}: no extra keys");
  }
  let inline = expected["inline_cases"].as_array().unwrap();
  assert!(!inline.is_empty());
  for case in inline {
    let src = case["input"].as_str().unwrap();
    assert_eq!(parse(src), pairs(&case["expected"]), "{src:?}");
  }
}

#[test]
fn dotenv_expand_unit_cases() {
  let dir = fixtures_dir().join("dotenv-expand-10.0.0");
  let expected = json(dir.join("expected.json"));
  let cases = expected["unit_cases"].as_array().unwrap();
  assert!(cases.len() >= 10);
  for case in cases {
    let name = case["name"].as_str().unwrap();
    let ignore_env = case["ignoreProcessEnv"].as_bool().unwrap_or(false);
    let env = env_lookup(case["process_env"].as_object().unwrap().clone());
    let no_env = |_: &str| None;
    let lookup: &dyn Fn(&str) -> Option<String> = if ignore_env { &no_env } else { &env };
    let got = expand(pairs(&case["parsed"]), lookup).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(got, pairs(&case["oracle_parsed"]), "{name}");
    let got_map: HashMap<_, _> = got.into_iter().collect();
    if let Some(asserted) = case.get("asserted") {
      for (k, v) in pairs(asserted) {
        assert_eq!(got_map.get(&k), Some(&v), "{name}: {k}");
      }
    }
  }
}

#[test]
fn dotenv_expand_integration() {
  let dir = fixtures_dir().join("dotenv-expand-10.0.0");
  let expected = json(dir.join("expected.json"));
  let src = read(dir.join("tests.env"));
  let integ = &expected["integration"];
  for mode in [
    "oracle_nextjs_mode_machine_preset",
    "oracle_nextjs_mode_no_machine",
    "oracle_dotenv_config_mode",
  ] {
    let case = &integ[mode];
    let mut env = case["process_env_before"].as_object().unwrap().clone();
    let parsed = parse(&src);
    if mode == "oracle_dotenv_config_mode" {
      // dotenv.config() first copies every parsed key that is not set yet into process.env.
      for (k, v) in &parsed {
        env
          .entry(k.clone())
          .or_insert_with(|| Value::String(v.clone()));
      }
    }
    let got = expand(parsed, &env_lookup(env)).unwrap();
    assert_eq!(got, pairs(&case["parsed"]), "{mode}");
    let order: Vec<&str> = case["key_order"]
      .as_array()
      .unwrap()
      .iter()
      .map(|k| k.as_str().unwrap())
      .collect();
    assert_eq!(
      got.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
      order
    );
    if mode == "oracle_nextjs_mode_machine_preset" {
      let got_map: HashMap<_, _> = got.into_iter().collect();
      for (k, v) in pairs(&integ["asserted_by_upstream"]) {
        assert_eq!(got_map.get(&k), Some(&v), "upstream assertion {k}");
      }
    }
  }
}

fn oracle() -> Value {
  json(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/oracle.json"))
}

#[test]
fn oracle_parse() {
  let o = oracle();
  let cases = o["parse"].as_array().unwrap();
  assert!(cases.len() > 1000);
  let mut failures = Vec::new();
  for case in cases {
    let src = case["src"].as_str().unwrap();
    let want = entries(&case["expected"]);
    let got = parse(src);
    if got != want {
      failures.push(format!("{src:?}\n   got  {got:?}\n   want {want:?}"));
    }
    // The detailed parser must never disagree with the plain one.
    let detailed: Vec<_> = parse_detailed(src)
      .entries
      .into_iter()
      .map(|e| (e.key, e.value))
      .collect();
    assert_eq!(detailed, got, "parse_detailed differs for {src:?}");
  }
  assert_none_differ(&failures, cases.len());
}

#[test]
fn oracle_expand() {
  let o = oracle();
  let cases = o["expand"].as_array().unwrap();
  assert!(cases.len() > 1000);
  let mut failures = Vec::new();
  let mut errors = 0;
  for case in cases {
    let src = case["src"].as_str().unwrap();
    let env = env_lookup(case["env"].as_object().unwrap().clone());
    let got = expand(parse(src), &env);
    let detailed = expand_detailed(parse(src), &env);
    assert_eq!(
      detailed.as_ref().map(|r| &r.values),
      got.as_ref(),
      "expand_detailed differs for {src:?}"
    );
    let want = &case["expected"];
    let ok = match (&got, want.get("ok"), want.get("err")) {
      (Ok(v), Some(w), None) => *v == entries(w),
      (Err(e), None, Some(w)) => {
        errors += 1;
        e.js_error() == w.as_str().unwrap()
      }
      _ => false,
    };
    if !ok {
      failures.push(format!(
        "{src:?} env={}\n   got  {got:?}\n   want {want}",
        case["env"]
      ));
    }
  }
  assert!(errors > 10, "the oracle must exercise the error path");
  assert_none_differ(&failures, cases.len());
}

#[test]
fn self_reference_is_the_range_error_path() {
  let err = expand(parse("A=ok\nB=$B\nC=1"), &|_| None).unwrap_err();
  assert!(matches!(&err, ExpandError::SelfReference { key, .. } if key == "B"));
  assert_eq!(
    err.js_error(),
    "RangeError: Maximum call stack size exceeded"
  );
}

/// Fails with every differing case listed.
fn assert_none_differ(failures: &[String], total: usize) {
  assert!(
    failures.is_empty(),
    "{} of {total} differ:\n{}",
    failures.len(),
    failures.join("\n")
  );
}
