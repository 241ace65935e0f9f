//! `explainEnv`: where every variable of a project's env files came from, and the traps it
//! fell into. Opt-in diagnostics; it reads the same rules as [`crate::load_files`] and never
//! changes what loading produces.

use std::collections::HashMap;

use crate::{
  expand_detailed, parse_detailed, ExpandWarningKind, ParseWarningKind, QuoteKind, Reference,
};

/// One file to explain: its name as @next/env reports it (`.env.local`) and its text.
pub struct EnvFile<'a> {
  pub path: &'a str,
  pub contents: &'a str,
}

/// One definition of a key in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Definition {
  pub file: String,
  pub line: usize,
  pub quote: QuoteKind,
  /// The value as dotenv parsed it, before expansion.
  pub raw: String,
}

/// Where a variable's value in `process.env` came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
  /// It was already in `process.env` before loading; files never override it.
  ProcessEnv,
  /// The first file (in load order) that defines it.
  File { file: String, line: usize },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
  pub key: String,
  /// The value in `process.env` after loading.
  pub value: String,
  pub origin: Origin,
  /// Every definition in the files, in load order. All but the origin are shadowed.
  pub definitions: Vec<Definition>,
  /// The expansion steps that produced `value` (empty when nothing was expanded).
  pub references: Vec<Reference>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
  pub file: String,
  pub line: Option<usize>,
  pub key: Option<String>,
  /// A stable kebab-case name, e.g. `empty-reference`, `unterminated-quote`.
  pub code: &'static str,
  pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Explanation {
  /// Every key defined in the files, in order of first appearance (load order).
  pub variables: Vec<Variable>,
  pub warnings: Vec<Warning>,
}

/// Explains a load of `files` (in @next/env's load order) against the initial `process.env`
/// (`env`, same contract as [`crate::expand`]). Simulates the writes between files exactly as
/// [`crate::load_files`] does.
pub fn explain(files: &[EnvFile<'_>], env: &dyn Fn(&str) -> Option<String>) -> Explanation {
  let mut out = Explanation::default();
  let mut written: HashMap<String, String> = HashMap::new();
  let mut index: HashMap<String, usize> = HashMap::new();

  for file in files {
    let parsed = parse_detailed(file.contents);
    let lines: HashMap<&str, usize> = parsed
      .entries
      .iter()
      .map(|e| (e.key.as_str(), e.line))
      .collect();
    for w in &parsed.warnings {
      let (code, key, message) = parse_warning(&w.kind);
      out.warnings.push(Warning {
        file: file.path.to_owned(),
        line: Some(w.line),
        key,
        code,
        message,
      });
    }
    let pairs = parsed
      .entries
      .iter()
      .map(|e| (e.key.clone(), e.value.clone()))
      .collect();
    let report = {
      let lookup = |name: &str| written.get(name).cloned().or_else(|| env(name));
      expand_detailed(pairs, &lookup)
    };
    let report = match report {
      Ok(report) => report,
      Err(err) => {
        out.warnings.push(Warning {
          file: file.path.to_owned(),
          line: lines.get(err.key()).copied(),
          key: Some(err.key().to_owned()),
          code: "file-dropped",
          message: format!(
            "{}; @next/env logs this error and ignores every variable in {}",
            err, file.path
          ),
        });
        continue;
      }
    };
    for w in &report.warnings {
      let (code, message) = expand_warning(&w.key, &w.kind);
      out.warnings.push(Warning {
        file: file.path.to_owned(),
        line: lines.get(w.key.as_str()).copied(),
        key: Some(w.key.clone()),
        code,
        message,
      });
    }
    for (entry, expansion) in parsed.entries.iter().zip(&report.keys) {
      let definition = Definition {
        file: file.path.to_owned(),
        line: entry.line,
        quote: entry.quote,
        raw: entry.value.clone(),
      };
      match index.get(&entry.key) {
        Some(&i) => {
          let var = &mut out.variables[i];
          var.definitions.push(definition);
          var.value = expansion.value.clone();
        }
        None => {
          let origin = if env(&entry.key).is_some() {
            Origin::ProcessEnv
          } else {
            Origin::File {
              file: file.path.to_owned(),
              line: entry.line,
            }
          };
          index.insert(entry.key.clone(), out.variables.len());
          out.variables.push(Variable {
            key: entry.key.clone(),
            value: expansion.value.clone(),
            origin,
            definitions: vec![definition],
            references: expansion.references.clone(),
          });
        }
      }
    }
    for (key, value) in report.values {
      written.insert(key, value);
    }
  }
  out
}

fn parse_warning(kind: &ParseWarningKind) -> (&'static str, Option<String>, String) {
  match kind {
    ParseWarningKind::UnterminatedQuote { key, quote, value } => (
      "unterminated-quote",
      Some(key.clone()),
      format!("{key}: the {quote} quote is never closed, so dotenv read only this line, quote included ({value:?}), and parsed the following lines as separate entries"),
    ),
    ParseWarningKind::TextAfterClosingQuote { key, quote, closing_line, value } => (
      "text-after-closing-quote",
      Some(key.clone()),
      format!("{key}: text follows the closing {quote} quote on line {closing_line}, so dotenv ignored the quoting and kept {value:?}"),
    ),
    ParseWarningKind::ValueOnLaterLine { key, value_line } => (
      "value-on-later-line",
      Some(key.clone()),
      format!("{key}= is empty on its line, but dotenv took the quoted value that starts on line {value_line}"),
    ),
    ParseWarningKind::HashCutValue { key, value, dropped } => (
      "hash-cut-value",
      Some(key.clone()),
      format!("{key}: `#` starts a comment in an unquoted value, so {dropped:?} was dropped and the value is {value:?}; quote the value to keep it"),
    ),
    ParseWarningKind::BackslashKept { key } => (
      "backslash-kept",
      Some(key.clone()),
      format!("{key}: a backslash before a quote does not escape it in dotenv 16; the backslash stays in the value"),
    ),
    ParseWarningKind::DuplicateKey { key, first_line } => (
      "duplicate-key",
      Some(key.clone()),
      format!("{key} is defined again (first on line {first_line}); the last definition wins"),
    ),
    ParseWarningKind::ProtoKeyDropped => ("proto-key-dropped", None, "__proto__ cannot be set from an env file; dotenv drops it".to_owned()),
    ParseWarningKind::IgnoredLine { text } => (
      "ignored-line",
      None,
      format!("not a KEY=value line, ignored: {text:?}"),
    ),
    #[allow(unreachable_patterns)]
    _ => ("parse-warning", None, format!("{kind:?}")),
  }
}

fn expand_warning(key: &str, kind: &ExpandWarningKind) -> (&'static str, String) {
  match kind {
    ExpandWarningKind::EmptyReference { name, text } => (
      "empty-reference",
      format!("{key}: {text} expanded to an empty string because {name} is not set; if the `$` is part of the value (a password?), write it as `\\$`"),
    ),
    ExpandWarningKind::DefaultOverFileValue { name, default } => (
      "default-over-file-value",
      format!("{key}: the default {default:?} was used although {name} is defined in this file (dotenv-expand 10 checks the default first)"),
    ),
    ExpandWarningKind::StoppedAtBareDollar { unexpanded } => (
      "stopped-at-bare-dollar",
      format!("{key}: the last `$` does not start a reference, so nothing before it was expanded: {unexpanded:?}"),
    ),
    ExpandWarningKind::InsertedValueReexpanded { name } => (
      "inserted-value-reexpanded",
      format!("{key}: the value of {name} contains `$` and was expanded again (escapes in it are lost)"),
    ),
    ExpandWarningKind::ReplacementPatternInterpreted { name } => (
      "replacement-pattern-interpreted",
      format!("{key}: the value of {name} contains `$$`, `$&`, `` $` `` or `$'`, which were interpreted as replacement patterns"),
    ),
    ExpandWarningKind::EarlierOccurrenceReplaced { text } => (
      "earlier-occurrence-replaced",
      format!("{key}: an earlier {text} (even an escaped one) was replaced instead of the one expanded"),
    ),
    ExpandWarningKind::ProcessEnvValueRewritten { before, after } => (
      "process-env-value-rewritten",
      format!("{key} was already set in the environment to {before:?}; because a file defines it too, its `$` references were expanded and it became {after:?}"),
    ),
    #[allow(unreachable_patterns)]
    _ => ("expand-warning", format!("{key}: {kind:?}")),
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |k: &str| {
      pairs
        .iter()
        .find(|(n, _)| *n == k)
        .map(|(_, v)| v.to_string())
    }
  }

  #[test]
  fn origins_definitions_and_shadowing() {
    let files = [
      EnvFile {
        path: ".env.local",
        contents: "DB_PASS=local\nURL=http://${HOST}/x",
      },
      EnvFile {
        path: ".env",
        contents: "DB_PASS=base\nHOST=h\nPORT=1",
      },
    ];
    let e = explain(&files, &env_of(&[("PORT", "9")]));
    let var = |k: &str| e.variables.iter().find(|v| v.key == k).unwrap().clone();
    let pass = var("DB_PASS");
    assert_eq!(pass.value, "local");
    assert_eq!(
      pass.origin,
      Origin::File {
        file: ".env.local".into(),
        line: 1
      }
    );
    assert_eq!(pass.definitions.len(), 2);
    assert_eq!(pass.definitions[1].file, ".env");
    // .env.local is read first, when HOST is not yet set anywhere.
    let url = var("URL");
    assert_eq!(url.value, "http:///x");
    assert_eq!(url.references[0].name, "HOST");
    assert_eq!(var("PORT").origin, Origin::ProcessEnv);
    assert_eq!(var("PORT").value, "9");
    let w: Vec<_> = e
      .warnings
      .iter()
      .map(|w| (w.code, w.key.clone(), w.line))
      .collect();
    assert!(
      w.contains(&("empty-reference", Some("URL".into()), Some(2))),
      "{w:?}"
    );
  }

  #[test]
  fn dropped_files_and_parse_traps_are_warnings() {
    let files = [EnvFile {
      path: ".env",
      contents: "A=$A\nPASS=ab#c\nQ=\"open",
    }];
    let e = explain(&files, &env_of(&[]));
    let codes: Vec<_> = e.warnings.iter().map(|w| w.code).collect();
    assert!(codes.contains(&"hash-cut-value"), "{codes:?}");
    assert!(codes.contains(&"unterminated-quote"), "{codes:?}");
    assert!(codes.contains(&"file-dropped"), "{codes:?}");
    assert!(e.variables.is_empty());
  }
}
