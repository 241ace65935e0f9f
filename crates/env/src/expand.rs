//! dotenv-expand 10.0.0 `expand({ parsed })` with `environment = process.env`, as @next/env 14–16 calls it.
//!
//! Upstream `_interpolate(value)` finds the **last** `$` not preceded by `\`, matches
//! `\${?(\w+)(?::-([^}\\]*))?}?` there, replaces the **first occurrence** of that text in the whole
//! string (`String.prototype.replace` with a string pattern, so `$&`-style patterns in the inserted
//! value are interpreted) with `env[name] || default || parsed[name] || ''`, and recurses on the result.
//! If the last `$` does not start a reference, it stops and nothing further left is expanded.
//! Finally every `\$` becomes `$`.
//!
//! Here that recursion is a loop with the same step semantics. The last-`$` search is resumed from
//! where the previous step changed the string instead of rescanning the whole value (the text to
//! the right of the replaced reference provably holds no unescaped `$`), which removes upstream's
//! per-step full rescans; lookups of `process.env` are cached per call (upstream reads them during
//! the loop but only writes after it, so they cannot change).

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use crate::js::{self, JsObject};

/// Replacement steps allowed for one value before reporting [`ExpandError::SelfReference`].
///
/// Upstream recurses once per step and dies with `RangeError: Maximum call stack size exceeded`
/// when V8's stack runs out, so its real limit depends on the caller's stack depth and frame sizes.
/// Measured on Node 20.20.2 with a value of N distinct unset references: @next/env 16.4.6
/// `loadEnvConfig` from a shallow stack succeeds up to N = 4374 (standalone dotenv-expand 10.0.0:
/// 4687). Values needing that many steps do not occur outside cycles.
pub const MAX_INTERPOLATION_STEPS: usize = 4374;

/// Longest expanded value built, in UTF-8 bytes (32 MiB); a longer one is
/// [`ExpandError::ValueTooLarge`]. Upstream goes on to V8's limit of 2²⁹−24 characters: a
/// 25-byte file whose `` $` `` doubles the value at each step made @next/env run for minutes and
/// take gigabytes before failing. No real env value comes near this (Linux refuses to pass an
/// env string over 128 KiB to a child process).
pub const MAX_EXPANDED_BYTES: usize = 32 << 20;

/// Why upstream would throw while expanding a file. @next/env catches it, logs
/// `Failed to load env from <path>` with the error, and drops the whole file (no keys, no writes).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExpandError {
  /// Upstream never stops (`A=$A`, `A=x$A`, `A=$B` + `B=$A`, …) and throws
  /// `RangeError: Maximum call stack size exceeded`.
  SelfReference {
    /// The key whose value was being expanded.
    key: String,
    /// Distinct variable names referenced during the runaway expansion, first seen first.
    names: Vec<String>,
  },
  /// The expanded value would exceed V8's maximum string length: `RangeError: Invalid string length`.
  ValueTooLong { key: String },
  /// The expanded value would exceed [`MAX_EXPANDED_BYTES`]: refused here, where upstream would
  /// keep building it (a deliberate difference, the only one).
  ValueTooLarge { key: String },
  /// A reference resolved to an inherited `Object.prototype` method (e.g. `$valueOf`), which
  /// `String.prototype.replace` calls as a replacer function and which then throws a `TypeError`.
  BuiltinReplacerThrew {
    key: String,
    name: String,
    /// The upstream error as `String(err)` prints it.
    js_error: &'static str,
  },
}

impl ExpandError {
  /// The key being expanded when upstream would have thrown.
  pub fn key(&self) -> &str {
    match self {
      ExpandError::SelfReference { key, .. }
      | ExpandError::ValueTooLong { key }
      | ExpandError::ValueTooLarge { key }
      | ExpandError::BuiltinReplacerThrew { key, .. } => key,
    }
  }

  /// `String(err)` of the error upstream throws, e.g. for a log line that matches @next/env's.
  pub fn js_error(&self) -> &'static str {
    match self {
      ExpandError::SelfReference { .. } => "RangeError: Maximum call stack size exceeded",
      ExpandError::ValueTooLong { .. } => "RangeError: Invalid string length",
      ExpandError::ValueTooLarge { .. } => "RangeError: expanded value over 32 MiB",
      ExpandError::BuiltinReplacerThrew { js_error, .. } => js_error,
    }
  }
}

impl fmt::Display for ExpandError {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match self {
      ExpandError::SelfReference { key, names } => write!(
        f,
        "{} (expanding {key} never terminates; it references {})",
        self.js_error(),
        names.join(", ")
      ),
      ExpandError::ValueTooLong { key } => {
        write!(f, "{} (expanding {key})", self.js_error())
      }
      ExpandError::ValueTooLarge { key } => write!(
        f,
        "{} (expanding {key}; next-native's limit, where @next/env would go on to V8's)",
        self.js_error()
      ),
      ExpandError::BuiltinReplacerThrew { key, name, .. } => write!(
        f,
        "{} (expanding {key}: ${name} resolves to a built-in JS method)",
        self.js_error()
      ),
    }
  }
}

impl std::error::Error for ExpandError {}

/// Where a `$` reference took its value from, in upstream's lookup order
/// `process.env[NAME] || default || parsed[NAME] || ''` (JS `||`: an empty string falls through).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
  /// A non-empty value already in `process.env` (initial env or a higher-priority file).
  ProcessEnv,
  /// The `:-default` text of the reference.
  Default,
  /// The value of that key in this file as it stands at that moment: already expanded if the key
  /// comes earlier, raw (then expanded in place) if it comes later.
  SameFile,
  /// Nothing non-empty anywhere: the reference became the empty string.
  Empty,
  /// An inherited JS property (`$constructor`, `$toString`, `$__proto__`, …).
  JsBuiltin,
}

/// One replacement step of the interpolation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
  pub name: String,
  /// The matched text, e.g. `${DB_HOST:-localhost}` or `$PORT`.
  pub text: String,
  pub source: Source,
  /// What was put in its place (after `String.prototype.replace` pattern handling).
  pub inserted: String,
}

/// How one key was expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyExpansion {
  pub key: String,
  /// The key already existed in `process.env`, so upstream interpolated that value, not the file's.
  pub from_process_env: bool,
  /// The string that was interpolated.
  pub input: String,
  /// The final value (what lands in `process.env`).
  pub value: String,
  /// Every replacement step, in the order upstream performs them (right to left, re-scans included).
  pub references: Vec<Reference>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpandWarning {
  pub key: String,
  pub kind: ExpandWarningKind,
}

/// Expansion outcomes that are silent upstream and usually a mistake.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExpandWarningKind {
  /// A `$` reference expanded to nothing (`DB_PASS=abc$def` → `abc`). Escape it as `\$`.
  EmptyReference { name: String, text: String },
  /// `${NAME:-default}` used the default although NAME is defined (non-empty) in this file:
  /// dotenv-expand 10 consults the default before same-file values.
  DefaultOverFileValue { name: String, default: String },
  /// The last unescaped `$` does not start a reference (`5$`, `$-`, `${}`), so upstream stopped
  /// and left the references before it unexpanded.
  StoppedAtBareDollar { unexpanded: String },
  /// An inserted value contained `$`, which was scanned again: references in it were expanded
  /// and escapes in it were lost (`A=x\$y`, `B=$A` → `B=x`).
  InsertedValueReexpanded { name: String },
  /// An inserted value contained `$$`, `$&`, `` $` `` or `$'`, which `String.prototype.replace`
  /// interprets instead of inserting literally.
  ReplacementPatternInterpreted { name: String },
  /// The same reference text occurs earlier in the value, and upstream replaced that earlier
  /// occurrence (even an escaped `\$NAME`) instead of the one it found.
  EarlierOccurrenceReplaced { text: String },
  /// The key was already in `process.env`; its value there contained `$` and was rewritten by
  /// the expansion (upstream writes it back).
  ProcessEnvValueRewritten { before: String, after: String },
}

/// Everything [`expand_detailed`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpandReport {
  /// Identical to the `Ok` value of [`crate::expand`].
  pub values: Vec<(String, String)>,
  /// One per key, in processing (= JS property) order.
  pub keys: Vec<KeyExpansion>,
  pub warnings: Vec<ExpandWarning>,
}

/// What a name resolves to, seen as a JS value handed to `String.prototype.replace`.
enum Found {
  Str(String),
  /// A built-in called as a replacer function that returns a fixed string.
  Constant(&'static str),
  /// `Object` called as a replacer: returns the matched text, so the string does not change.
  MatchedText,
  Throws(&'static str),
}

const CANNOT_CONVERT: &str = "TypeError: Cannot convert undefined or null to object";

/// Inherited members of `Object.prototype` as `String.prototype.replace` treats them when passed
/// as the replacement (functions are called with `this === undefined`). Checked in Node 20.20.2.
fn object_prototype_member(name: &str) -> Option<Found> {
  Some(match name {
    "constructor" => Found::MatchedText,
    "__proto__" => Found::Str("[object Object]".to_owned()),
    "toString" => Found::Constant("[object Undefined]"),
    "isPrototypeOf" => Found::Constant("false"),
    "toLocaleString" => {
      Found::Throws("TypeError: Object.prototype.toLocaleString called on null or undefined")
    }
    "valueOf"
    | "hasOwnProperty"
    | "propertyIsEnumerable"
    | "__defineGetter__"
    | "__defineSetter__"
    | "__lookupGetter__"
    | "__lookupSetter__" => Found::Throws(CANNOT_CONVERT),
    _ => return None,
  })
}

/// `process.env` in Node 20 has its own prototype (with a `constructor` that returns
/// `globalThis`) in front of `Object.prototype`.
fn process_env_prototype_member(name: &str) -> Option<Found> {
  match name {
    "constructor" => Some(Found::Constant("[object global]")),
    _ => object_prototype_member(name),
  }
}

/// Receives the steps of an expansion; `()` ignores them so plain `expand` pays nothing.
trait Trace {
  fn begin_key(&mut self, _key: &str, _from_env: bool, _input: &str) {}
  fn reference(&mut self, _step: Step<'_>) {}
  fn stopped_at_bare_dollar(&mut self, _rest: &str) {}
  fn end_key(&mut self, _value: &str) {}
}

impl Trace for () {}

struct Step<'a> {
  name: &'a str,
  text: &'a str,
  default: Option<&'a str>,
  source: Source,
  looked_up: &'a str,
  inserted: &'a str,
  earlier_occurrence: bool,
  name_in_file: bool,
}

/// A reference matched at a `$`: total length, and byte ranges of the name and the default.
struct RefMatch {
  len: usize,
  name: (usize, usize),
  default: Option<(usize, usize)>,
}

/// `\${?(\w+)(?::-([^}\\]*))?}?` anchored at a `$`.
/// Every part is greedy and nothing follows, so the first path is the match; only a missing name
/// fails it (backing off `{?` cannot help).
fn reference_at(s: &str) -> Option<RefMatch> {
  let b = s.as_bytes();
  let mut i = 1;
  if b.get(i) == Some(&b'{') {
    i += 1;
  }
  let name_start = i;
  while b
    .get(i)
    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
  {
    i += 1;
  }
  if i == name_start {
    return None;
  }
  let name = (name_start, i);
  let mut default = None;
  if b[i..].starts_with(b":-") {
    i += 2;
    let start = i;
    while b.get(i).is_some_and(|&c| c != b'}' && c != b'\\') {
      i += 1;
    }
    default = Some((start, i));
  }
  if b.get(i) == Some(&b'}') {
    i += 1;
  }
  Some(RefMatch {
    len: i,
    name,
    default,
  })
}

/// Upstream's `_searchLast(value, /(?!(?<=\\))\$/g)` restricted to `b`.
fn last_unescaped_dollar(b: &[u8]) -> Option<usize> {
  let mut end = b.len();
  while let Some(p) = b[..end].iter().rposition(|&c| c == b'$') {
    if p == 0 || b[p - 1] != b'\\' {
      return Some(p);
    }
    end = p;
  }
  None
}

/// ECMAScript GetSubstitution for a string pattern (no captures): `$$`, `$&`, `` $` `` and `$'`
/// are interpreted; `$1`, `$<` and anything else stay literal. `None` if the result would exceed
/// [`MAX_EXPANDED_BYTES`].
fn substitute<'v>(value: &'v str, matched: &str, subject: &str, at: usize) -> Option<Cow<'v, str>> {
  let before = &subject[..at];
  let after = &subject[at + matched.len()..];
  let mut pieces: Vec<&str> = Vec::new();
  let mut rest = value;
  while let Some(i) = rest.find('$') {
    pieces.push(&rest[..i]);
    let piece = match rest.as_bytes().get(i + 1) {
      Some(b'$') => "$",
      Some(b'&') => matched,
      Some(b'`') => before,
      Some(b'\'') => after,
      _ => {
        pieces.push("$");
        rest = &rest[i + 1..];
        continue;
      }
    };
    pieces.push(piece);
    rest = &rest[i + 2..];
  }
  pieces.push(rest);
  if pieces.iter().map(|p| p.len()).sum::<usize>() > MAX_EXPANDED_BYTES {
    return None;
  }
  Some(Cow::Owned(pieces.concat()))
}

/// Whether replacing the reference `group` (found at the end of `prefix`, first occurrence) with
/// `inserted` starts a loop that only ever grows the string, as `A=x$A` does.
///
/// If `inserted` is `X + group` (X not ending in `\`), the next step sees the same tail, the same
/// reference and the same lookup, and inserts the same text again, provided the reference text does
/// not occur earlier: `replace` would then hit that occurrence instead. The prefix becomes
/// `prefix + X^n`; every window of `group`'s length in it also appears in `prefix + X^m` for the
/// `m` below, so checking that one string covers all future steps. `` $` `` in the looked-up
/// value would make the inserted text depend on the growing prefix, so that case is not claimed.
fn grows_forever(prefix: &str, group: &str, inserted: &str, looked_up: &str) -> bool {
  let Some(x) = inserted.strip_suffix(group) else {
    return false;
  };
  if x.is_empty() || x.ends_with('\\') || looked_up.contains("$`") {
    return false;
  }
  let m = group.len() / x.len() + 2;
  let mut probe = String::with_capacity(prefix.len() + m * x.len() + group.len());
  probe.push_str(prefix);
  for _ in 0..m {
    probe.push_str(x);
  }
  let tail_start = probe.len();
  probe.push_str(group);
  probe.find(group) == Some(tail_start)
}

/// `subject.find(group)` for the references of one value, remembering how far each reference
/// text is known to be absent, so that a value growing at its end is not rescanned from its
/// start on every step (that made long reference cycles quadratic).
#[derive(Default)]
struct FirstOccurrences {
  /// Reference text → no occurrence of it lies entirely inside `subject[..end]`.
  absent_before: Vec<(String, usize)>,
}

impl FirstOccurrences {
  /// More distinct reference texts than this are searched without memory.
  const MAX: usize = 64;

  fn find(&mut self, subject: &str, group: &str) -> Option<usize> {
    let slot = self.absent_before.iter().position(|(g, _)| g == group);
    let known = slot.map_or(0, |i| self.absent_before[i].1.min(subject.len()));
    // An occurrence may start up to `len - 1` bytes before `known` (on a char boundary).
    let mut from = known.saturating_sub(group.len().saturating_sub(1));
    while !subject.is_char_boundary(from) {
      from -= 1;
    }
    let found = subject[from..].find(group).map(|i| from + i);
    let end = found.map_or(subject.len(), |q| q + group.len() - 1);
    match slot {
      Some(i) => self.absent_before[i].1 = end,
      None if self.absent_before.len() < Self::MAX => {
        self.absent_before.push((group.to_owned(), end))
      }
      None => {}
    }
    found
  }

  /// The subject changed from byte `at` on.
  fn changed_from(&mut self, at: usize) {
    for (_, end) in &mut self.absent_before {
      *end = (*end).min(at);
    }
  }
}

/// `value.replace(/\\\$/g, '$')`.
fn resolve_escapes(s: String) -> String {
  if s.contains("\\$") {
    s.replace("\\$", "$")
  } else {
    s
  }
}

fn count_dollars(s: &str) -> usize {
  s.bytes().filter(|&b| b == b'$').count()
}

/// A string plus how many `$` it holds, so values without `$` are never rescanned.
#[derive(Clone)]
struct Text {
  s: String,
  dollars: usize,
}

impl Text {
  fn new(s: String) -> Text {
    let dollars = count_dollars(&s);
    Text { s, dollars }
  }
}

struct Expander<'e> {
  env: &'e dyn Fn(&str) -> Option<String>,
  env_cache: HashMap<String, Option<Text>>,
  parsed: Vec<(String, Text)>,
  index: HashMap<String, usize>,
}

impl Expander<'_> {
  fn env_get(&mut self, name: &str) -> Option<&Text> {
    if !self.env_cache.contains_key(name) {
      let v = (self.env)(name).map(Text::new);
      self.env_cache.insert(name.to_owned(), v);
    }
    self.env_cache[name].as_ref()
  }

  /// `environment[name] || default || config.parsed[name] || ''`.
  fn lookup(&mut self, name: &str, default: Option<&str>) -> (Found, Source, usize) {
    match self.env_get(name) {
      Some(v) if !v.s.is_empty() => {
        return (Found::Str(v.s.clone()), Source::ProcessEnv, v.dollars)
      }
      Some(_) => {}
      None => {
        if let Some(f) = process_env_prototype_member(name) {
          return (f, Source::JsBuiltin, 0);
        }
      }
    }
    if let Some(d) = default.filter(|d| !d.is_empty()) {
      // Always 0 in practice (a `$` in the default would have been the last unescaped one),
      // counted anyway so the bookkeeping never depends on that argument.
      return (Found::Str(d.to_owned()), Source::Default, count_dollars(d));
    }
    match self.index.get(name) {
      Some(&i) if !self.parsed[i].1.s.is_empty() => {
        let v = &self.parsed[i].1;
        (Found::Str(v.s.clone()), Source::SameFile, v.dollars)
      }
      Some(_) => (Found::Str(String::new()), Source::Empty, 0),
      None => match object_prototype_member(name) {
        Some(f) => (f, Source::JsBuiltin, 0),
        None => (Found::Str(String::new()), Source::Empty, 0),
      },
    }
  }

  fn interpolate(
    &mut self,
    key: &str,
    input: Text,
    trace: &mut impl Trace,
  ) -> Result<Text, ExpandError> {
    let Text { mut s, mut dollars } = input;
    // Everything at or after `bound` is known to hold no unescaped `$`.
    let mut bound = s.len();
    let mut steps = 0;
    let mut names: Vec<String> = Vec::new();
    let mut searched = FirstOccurrences::default();
    let self_reference = |names: Vec<String>| ExpandError::SelfReference {
      key: key.to_owned(),
      names,
    };
    let too_long = || ExpandError::ValueTooLong {
      key: key.to_owned(),
    };
    let too_large = || ExpandError::ValueTooLarge {
      key: key.to_owned(),
    };
    loop {
      let Some(l) = last_unescaped_dollar(&s.as_bytes()[..bound]) else {
        return Ok(Text { s, dollars });
      };
      let Some(RefMatch {
        len: glen,
        name: name_r,
        default: default_r,
      }) = reference_at(&s[l..])
      else {
        trace.stopped_at_bare_dollar(&s);
        return Ok(Text { s, dollars });
      };
      steps += 1;
      let group = s[l..l + glen].to_owned();
      let name = &group[name_r.0..name_r.1];
      let default = default_r.map(|(a, b)| &group[a..b]);
      if names.len() < 32 && !names.iter().any(|n| n == name) {
        names.push(name.to_owned());
      }
      if steps > MAX_INTERPOLATION_STEPS {
        return Err(self_reference(names));
      }
      let (found, source, found_dollars) = self.lookup(name, default);
      // The group is found at `l` at the latest; `replace` takes the first occurrence.
      let q = searched.find(&s[..l + glen], &group).unwrap_or(l);
      let looked_up: &str;
      let (inserted, inserted_dollars): (Cow<'_, str>, usize) = match &found {
        Found::Str(v) => {
          looked_up = v;
          if found_dollars == 0 {
            (Cow::Borrowed(v.as_str()), 0)
          } else {
            let r = substitute(v, &group, &s, q).ok_or_else(too_large)?;
            let n = count_dollars(&r);
            (r, n)
          }
        }
        Found::Constant(c) => {
          looked_up = c;
          (Cow::Borrowed(*c), 0)
        }
        Found::MatchedText => {
          looked_up = &group;
          (Cow::Borrowed(group.as_str()), 1)
        }
        Found::Throws(js_error) => {
          return Err(ExpandError::BuiltinReplacerThrew {
            key: key.to_owned(),
            name: name.to_owned(),
            js_error,
          })
        }
      };
      trace.reference(Step {
        name,
        text: &group,
        default,
        source,
        looked_up,
        inserted: &inserted,
        earlier_occurrence: q != l,
        name_in_file: self
          .index
          .get(name)
          .is_some_and(|&i| !self.parsed[i].1.s.is_empty()),
      });
      if inserted == group.as_str() {
        // The string is unchanged, so upstream would repeat this step until the stack is gone.
        return Err(self_reference(names));
      }
      let new_len = s.len() - glen + inserted.len();
      if q == l && inserted_dollars > 0 && grows_forever(&s[..l], &group, &inserted, looked_up) {
        // Upstream keeps recursing; whichever limit it reaches first decides the error.
        let x16 = js::utf16_len(&inserted[..inserted.len() - glen]);
        let remaining = MAX_INTERPOLATION_STEPS + 1 - steps;
        if js::utf16_len(&s).saturating_add(remaining.saturating_mul(x16))
          > js::JS_MAX_STRING_LENGTH
        {
          return Err(too_long());
        }
        return Err(self_reference(names));
      }
      if new_len > MAX_EXPANDED_BYTES {
        return Err(too_large());
      }
      let rlen = inserted.len();
      // Spliced in place with `push_str` (memcpy) rather than `replace_range`, whose
      // byte-iterator splice is far slower on long values. Only the text right of the
      // reference is copied: a cycle such as `A=<long>$B`, `B=<long>$A` grows the value by
      // one insertion per step for up to MAX_INTERPOLATION_STEPS steps, and copying the whole
      // value each time made that quadratic (a 4 KB file took 11 s).
      let tail = s[q + glen..].to_owned();
      s.truncate(q);
      s.reserve(new_len - q);
      s.push_str(&inserted);
      s.push_str(&tail);
      drop(inserted);
      searched.changed_from(q);
      dollars = dollars - 1 + inserted_dollars;
      // Right of the replaced text nothing changed: when the found reference itself was
      // replaced, its right side held no unescaped `$` (and cannot start with `$`); when an
      // earlier occurrence was, the found `$` moved by the length change and may have become
      // escaped, so it is included in the next search. Inserted text without `$` needs no search.
      bound = match (q == l, inserted_dollars) {
        (true, 0) => l,
        (true, _) => l + rlen,
        (false, _) => l - glen + rlen + 1,
      };
      if dollars == 0 {
        return Ok(Text { s, dollars });
      }
    }
  }
}

fn run(
  parsed: Vec<(String, String)>,
  env: &dyn Fn(&str) -> Option<String>,
  trace: &mut impl Trace,
) -> Result<Vec<(String, String)>, ExpandError> {
  // `config.parsed` is a JS object: normalise whatever the caller passed into its key order.
  let mut obj = JsObject::with_capacity(parsed.len());
  for (k, v) in parsed {
    obj.set(&k, v);
  }
  let parsed: Vec<(String, Text)> = obj
    .ordered()
    .into_iter()
    .map(|(k, v)| (k, Text::new(v)))
    .collect();
  let index = parsed
    .iter()
    .enumerate()
    .map(|(i, (k, _))| (k.clone(), i))
    .collect();
  let mut ex = Expander {
    env,
    env_cache: HashMap::new(),
    parsed,
    index,
  };
  for i in 0..ex.parsed.len() {
    let key = ex.parsed[i].0.clone();
    // `hasOwnProperty(process.env, key) ? process.env[key] : parsed[key]` — an existing
    // process.env value is interpolated (and later written back) instead of the file's.
    let from_env = ex.env_get(&key).cloned();
    let is_env = from_env.is_some();
    let input = from_env.unwrap_or_else(|| ex.parsed[i].1.clone());
    trace.begin_key(&key, is_env, &input.s);
    let value = if input.dollars > 0 {
      let out = ex.interpolate(&key, input, trace)?;
      if out.dollars > 0 {
        Text::new(resolve_escapes(out.s))
      } else {
        out
      }
    } else {
      input
    };
    trace.end_key(&value.s);
    ex.parsed[i].1 = value;
  }
  Ok(ex.parsed.into_iter().map(|(k, v)| (k, v.s)).collect())
}

/// See [`crate::expand`].
pub fn expand(
  parsed: Vec<(String, String)>,
  env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<(String, String)>, ExpandError> {
  run(parsed, env, &mut ())
}

#[derive(Default)]
struct Recorder {
  keys: Vec<KeyExpansion>,
  warnings: Vec<ExpandWarning>,
}

impl Recorder {
  fn warn(&mut self, kind: ExpandWarningKind) {
    let key = self.keys.last().map(|k| k.key.clone()).unwrap_or_default();
    self.warnings.push(ExpandWarning { key, kind });
  }
}

impl Trace for Recorder {
  fn begin_key(&mut self, key: &str, from_env: bool, input: &str) {
    self.keys.push(KeyExpansion {
      key: key.to_owned(),
      from_process_env: from_env,
      input: input.to_owned(),
      value: String::new(),
      references: Vec::new(),
    });
  }

  fn reference(&mut self, step: Step<'_>) {
    if step.source == Source::Empty {
      self.warn(ExpandWarningKind::EmptyReference {
        name: step.name.to_owned(),
        text: step.text.to_owned(),
      });
    }
    if step.source == Source::Default && step.name_in_file {
      self.warn(ExpandWarningKind::DefaultOverFileValue {
        name: step.name.to_owned(),
        default: step.default.unwrap_or_default().to_owned(),
      });
    }
    if step.inserted != step.looked_up && step.looked_up.contains('$') {
      self.warn(ExpandWarningKind::ReplacementPatternInterpreted {
        name: step.name.to_owned(),
      });
    } else if step.inserted.contains('$') && step.inserted != step.text {
      self.warn(ExpandWarningKind::InsertedValueReexpanded {
        name: step.name.to_owned(),
      });
    }
    if step.earlier_occurrence {
      self.warn(ExpandWarningKind::EarlierOccurrenceReplaced {
        text: step.text.to_owned(),
      });
    }
    if let Some(k) = self.keys.last_mut() {
      k.references.push(Reference {
        name: step.name.to_owned(),
        text: step.text.to_owned(),
        source: step.source,
        inserted: step.inserted.to_owned(),
      });
    }
  }

  fn stopped_at_bare_dollar(&mut self, rest: &str) {
    let b = rest.as_bytes();
    let left_refs = (0..b.len())
      .any(|i| b[i] == b'$' && (i == 0 || b[i - 1] != b'\\') && reference_at(&rest[i..]).is_some());
    if left_refs {
      self.warn(ExpandWarningKind::StoppedAtBareDollar {
        unexpanded: rest.to_owned(),
      });
    }
  }

  fn end_key(&mut self, value: &str) {
    let Some(k) = self.keys.last_mut() else {
      return;
    };
    k.value = value.to_owned();
    if k.from_process_env && k.input != value {
      let (before, after) = (k.input.clone(), value.to_owned());
      self.warn(ExpandWarningKind::ProcessEnvValueRewritten { before, after });
    }
  }
}

/// [`crate::expand`] plus, per key, every reference and where its value came from, and warnings
/// for silent surprises. `values` is always identical to what `expand` returns.
pub fn expand_detailed(
  parsed: Vec<(String, String)>,
  env: &dyn Fn(&str) -> Option<String>,
) -> Result<ExpandReport, ExpandError> {
  let mut rec = Recorder::default();
  let values = run(parsed, env, &mut rec)?;
  Ok(ExpandReport {
    values,
    keys: rec.keys,
    warnings: rec.warnings,
  })
}

#[cfg(test)]
mod tests {
  use super::*;

  fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
      .iter()
      .map(|(k, v)| (k.to_string(), v.to_string()))
      .collect()
  }

  fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |k| {
      pairs
        .iter()
        .find(|(n, _)| *n == k)
        .map(|(_, v)| v.to_string())
    }
  }

  fn ex(
    file: &[(&str, &str)],
    env: &'static [(&'static str, &'static str)],
  ) -> Result<Vec<(String, String)>, ExpandError> {
    expand(kv(file), &env_of(env))
  }

  fn val(file: &[(&str, &str)], env: &'static [(&'static str, &'static str)], key: &str) -> String {
    ex(file, env)
      .unwrap()
      .into_iter()
      .find(|(k, _)| k == key)
      .unwrap()
      .1
  }

  #[test]
  fn lookup_order() {
    assert_eq!(val(&[("A", "1"), ("B", "${A:-x}")], &[], "B"), "x");
    assert_eq!(val(&[("A", "1"), ("B", "${A}")], &[], "B"), "1");
    assert_eq!(val(&[("B", "$A"), ("A", "1")], &[], "B"), "1");
    assert_eq!(val(&[("B", "${A:-d}")], &[("A", "env")], "B"), "env");
    assert_eq!(val(&[("B", "${A:-d}")], &[("A", "")], "B"), "d");
    assert_eq!(val(&[("A", "f"), ("B", "$A")], &[("A", "")], "B"), "");
    assert_eq!(val(&[("B", "$UNSET:-/x:y")], &[], "B"), "/x:y");
    assert_eq!(val(&[("B", "${A-d}")], &[("A", "v")], "B"), "v-d}");
  }

  #[test]
  fn last_dollar_first() {
    assert_eq!(
      val(&[("X", "$M costs 5$")], &[("M", "m")], "X"),
      "$M costs 5$"
    );
    assert_eq!(val(&[("A", "1"), ("C", "2"), ("X", "$A$C")], &[], "X"), "");
    assert_eq!(
      val(&[("X", "{ port: $A}")], &[("A", "1")], "X"),
      "{ port: 1"
    );
    assert_eq!(val(&[("X", "${A")], &[("A", "1")], "X"), "1");
    assert_eq!(val(&[("X", "${A.B}")], &[("A", "1")], "X"), "1.B}");
  }

  #[test]
  fn escapes_and_first_occurrence() {
    assert_eq!(val(&[("X", "pa\\$\\$word")], &[], "X"), "pa$$word");
    assert_eq!(val(&[("X", "\\\\$A")], &[("A", "1")], "X"), "\\$A");
    assert_eq!(val(&[("X", "\\$A$A")], &[("A", "1")], "X"), "\\11");
    assert_eq!(val(&[("A", "x\\$y"), ("B", "$A")], &[], "B"), "x");
  }

  #[test]
  fn replacement_patterns() {
    assert_eq!(val(&[("A", "x$&y"), ("B", "$A")], &[], "B"), "x");
    assert_eq!(val(&[("B", "$A")], &[("A", "x$$y")], "B"), "x");
    assert_eq!(val(&[("B", "<$A>")], &[("A", "[$`|$']")], "B"), "<[<|>]>");
    assert_eq!(val(&[("B", "$A")], &[("A", "$1$<x>")], "B"), "$1$<x>");
  }

  #[test]
  fn process_env_value_is_reinterpolated() {
    assert_eq!(
      ex(&[("PW", "file")], &[("PW", "ab$HOSTX\\$y"), ("HOSTX", "h")]).unwrap(),
      kv(&[("PW", "abh$y")])
    );
    assert_eq!(
      ex(&[("A", "$A:extra")], &[("A", "keep")]).unwrap(),
      kv(&[("A", "keep")])
    );
  }

  #[test]
  fn self_reference_errors() {
    for file in [
      &[("A", "$A")][..],
      &[("A", "x$A")][..],
      &[("A", "$B"), ("B", "$A")][..],
      &[("A", "${A:-}")][..],
      &[("A", "$A$A")][..],
    ] {
      match ex(file, &[]) {
        Err(ExpandError::SelfReference { key, names }) => {
          assert_eq!(key, "A");
          assert!(names.contains(&"A".to_string()));
        }
        other => panic!("{file:?}: {other:?}"),
      }
    }
    assert_eq!(
      ex(&[("A", "$A")], &[]).unwrap_err().js_error(),
      "RangeError: Maximum call stack size exceeded"
    );
  }

  /// Found by the env fuzz target: `` $` `` inserts everything left of the reference, so each
  /// step doubles the value; upstream builds it up to V8's limit (minutes, gigabytes).
  #[test]
  fn a_value_that_doubles_stops_at_the_size_limit() {
    let err = ex(&[("A", "$$$`A:-x}}${A}"), ("1", "$C")], &[("1", "")]).unwrap_err();
    assert_eq!(err, ExpandError::ValueTooLarge { key: "A".into() });
    assert_eq!(err.js_error(), "RangeError: expanded value over 32 MiB");
    // Just under the limit, a long value is still built.
    let long = "x".repeat(MAX_EXPANDED_BYTES - 8);
    assert_eq!(
      val(&[("B", &long), ("C", "${B}")], &[], "C").len(),
      long.len()
    );
  }

  #[test]
  fn step_limit_is_upstream_depth() {
    let ok: String = (0..MAX_INTERPOLATION_STEPS)
      .map(|i| format!("$X{i}"))
      .collect();
    assert_eq!(val(&[("A", &ok)], &[], "A"), "");
    let too_many = format!("{ok}$Y");
    assert!(matches!(
      ex(&[("A", &too_many)], &[]),
      Err(ExpandError::SelfReference { .. })
    ));
  }

  #[test]
  fn builtins() {
    assert_eq!(
      val(&[("A", "<$toString>")], &[], "A"),
      "<[object Undefined]>"
    );
    assert_eq!(
      val(&[("A", "<$constructor>")], &[], "A"),
      "<[object global]>"
    );
    assert_eq!(val(&[("A", "<$__proto__>")], &[], "A"), "<[object Object]>");
    assert_eq!(val(&[("A", "<$isPrototypeOf>")], &[], "A"), "<false>");
    assert!(matches!(
      ex(&[("A", "$valueOf")], &[]),
      Err(ExpandError::BuiltinReplacerThrew { .. })
    ));
    // process.env has an own, empty `constructor`: falls through to `parsed.constructor`,
    // which is `Object` and returns the match unchanged forever.
    assert!(matches!(
      ex(&[("A", "$constructor")], &[("constructor", "")]),
      Err(ExpandError::SelfReference { .. })
    ));
  }

  #[test]
  fn unicode_defaults() {
    assert_eq!(val(&[("A", "${U:-\u{1F600}é}x")], &[], "A"), "\u{1F600}éx");
  }

  #[test]
  fn detailed_report() {
    let r = expand_detailed(
      kv(&[
        ("HOST", "h"),
        ("DB_PASS", "abc$def"),
        ("URL", "${HOST:-x}:${PORT:-5432}"),
      ]),
      &env_of(&[("PORT", "")]),
    )
    .unwrap();
    assert_eq!(
      r.values,
      expand(
        kv(&[
          ("HOST", "h"),
          ("DB_PASS", "abc$def"),
          ("URL", "${HOST:-x}:${PORT:-5432}")
        ]),
        &env_of(&[("PORT", "")])
      )
      .unwrap()
    );
    assert_eq!(r.keys[1].references[0].source, Source::Empty);
    let url = &r.keys[2];
    let sources: Vec<_> = url
      .references
      .iter()
      .map(|r| (r.name.as_str(), r.source))
      .collect();
    assert_eq!(
      sources,
      vec![("PORT", Source::Default), ("HOST", Source::Default)]
    );
    assert!(r.warnings.contains(&ExpandWarning {
      key: "DB_PASS".into(),
      kind: ExpandWarningKind::EmptyReference {
        name: "def".into(),
        text: "$def".into()
      }
    }));
    assert!(r.warnings.contains(&ExpandWarning {
      key: "URL".into(),
      kind: ExpandWarningKind::DefaultOverFileValue {
        name: "HOST".into(),
        default: "x".into()
      }
    }));
    assert_eq!(r.warnings.len(), 2, "{:?}", r.warnings);
  }
}
