//! dotenv 16.3.1 `parse`, as a scanner that walks the same paths as its line regex.
//!
//! Upstream (lib/main.js, unchanged from 16.0.0 to 17.4.2):
//! ```text
//! LINE = /(?:^|^)\s*(?:export\s+)?([\w.-]+)(?:\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'|\s*"(?:\\"|[^"])*"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?(?:$|$)/mg
//! ```
//! run with `exec` over the text after `\r\n?` → `\n`, then per match: `trim`, strip one pair of
//! quotes with `/^(['"`])([\s\S]*)\1$/mg`, and for values that started with `"` turn `\n`/`\r` into
//! LF/CR. The scanner reproduces the regex's backtracking order; each choice below says which part
//! of the regex it stands for.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::js::{self, JsObject};

/// How dotenv 16.3.1 read a value: which alternative of its line regex matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuoteKind {
  /// `[^#\r\n]+`: the rest of the line up to `#`, trimmed. Also used when a quoted value was
  /// rejected (see [`ParseWarningKind::UnterminatedQuote`] and
  /// [`ParseWarningKind::TextAfterClosingQuote`]), so such a value keeps its opening quote.
  None,
  /// `'…'`, may span lines, taken literally.
  Single,
  /// `"…"`, may span lines, `\n` and `\r` (only those) are unescaped.
  Double,
  /// `` `…` ``, may span lines, taken literally.
  Backtick,
}

impl QuoteKind {
  fn of(q: u8) -> QuoteKind {
    match q {
      b'\'' => QuoteKind::Single,
      b'"' => QuoteKind::Double,
      _ => QuoteKind::Backtick,
    }
  }
}

/// One key as it ends up in dotenv's result object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedEntry {
  pub key: String,
  /// The value dotenv returns (the last definition's, as dotenv lets the last duplicate win).
  pub value: String,
  /// 1-based line where the winning definition's key starts (CR, CRLF and LF each end a line).
  pub line: usize,
  pub quote: QuoteKind,
}

/// What [`parse_detailed`] found: the same entries as [`crate::parse`], plus traps dotenv is silent about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedFile {
  /// In JS property order, exactly as [`crate::parse`] returns them.
  pub entries: Vec<ParsedEntry>,
  /// In source order.
  pub warnings: Vec<ParseWarning>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseWarning {
  /// 1-based line the warning is about.
  pub line: usize,
  pub kind: ParseWarningKind,
}

/// Things dotenv 16.3.1 does without an error that are almost never what the author meant.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseWarningKind {
  /// The value opens with `quote` but no matching closing quote exists. dotenv then reads the
  /// line as an unquoted value (up to `#` or end of line), keeping the quote character, and the
  /// following lines are parsed as if they were separate entries.
  UnterminatedQuote {
    key: String,
    quote: char,
    value: String,
  },
  /// The quoted value closes (on `closing_line`) but is followed by something other than a `#`
  /// comment, so dotenv discards the quoting and reads the first line as an unquoted value.
  TextAfterClosingQuote {
    key: String,
    quote: char,
    closing_line: usize,
    value: String,
  },
  /// `KEY=` with nothing on its line took a quoted value that starts on a later line
  /// (`value_line`), because the regex's `\s*` before a quote crosses newlines.
  ValueOnLaterLine { key: String, value_line: usize },
  /// An unquoted value was cut at a `#` that is not preceded by whitespace (`PASS=ab#c` → `ab`,
  /// `COLOR=#fff` → empty): dotenv treats every `#` in an unquoted value as a comment.
  HashCutValue {
    key: String,
    value: String,
    dropped: String,
  },
  /// A backslash before a quote inside a quoted value does not escape it in dotenv 16: the
  /// backslash stays in the value (`"a\"b"` → `a\"b`).
  BackslashKept { key: String },
  /// The key was defined again on a later line; dotenv keeps the last value (and the first position).
  DuplicateKey { key: String, first_line: usize },
  /// `__proto__=…` is dropped: dotenv assigns into a plain object, where `__proto__` is a setter.
  ProtoKeyDropped,
  /// A line that is not blank, not a comment and not part of any entry; dotenv skips it silently
  /// (`FOO BAR=1`, `KEY:value`, a non-ASCII key, `export FOO` without a value, …).
  IgnoredLine { text: String },
}

/// One regex match, in offsets of the normalised text.
struct RawMatch {
  key: (usize, usize),
  /// `match[2]`, the captured value before trimming (empty when the group did not participate).
  value: (usize, usize),
  quote: QuoteKind,
  /// `lastIndex` after the match.
  end: usize,
  /// Set when the value started with a quote but the quoted alternative failed:
  /// (quote byte, offset of the rightmost closing candidate, if there was any).
  rejected_quote: Option<(u8, Option<usize>)>,
}

/// dotenv replaces `/\r\n?/mg` with `\n` before matching.
fn normalise_newlines(src: &str) -> Cow<'_, str> {
  if !src.contains('\r') {
    return Cow::Borrowed(src);
  }
  let mut out = String::with_capacity(src.len());
  let mut rest = src;
  while let Some(i) = rest.find('\r') {
    out.push_str(&rest[..i]);
    out.push('\n');
    rest = &rest[i + 1..];
    if let Some(r) = rest.strip_prefix('\n') {
      rest = r;
    }
  }
  out.push_str(rest);
  Cow::Owned(out)
}

#[inline]
fn is_key_byte(b: u8) -> bool {
  b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')
}

/// `\s*(?:#.*)?(?:$|$)` at `x`: `Some(lastIndex)` if it matches.
///
/// The greedy `\s*` is tried longest first; from there `#.*` always reaches a `$`. Otherwise it
/// backs off to the last line terminator inside the whitespace run, if there is one.
fn trailing(b: &[u8], x: usize) -> Option<usize> {
  let w = js::skip_ws(b, x);
  if w == b.len() {
    return Some(w);
  }
  if b[w] == b'#' {
    let mut i = w;
    while i < b.len() && js::lt_len(b, i) == 0 {
      i += 1;
    }
    return Some(i);
  }
  let mut last_lt = None;
  let mut i = x;
  while i < w {
    if js::lt_len(b, i) != 0 {
      last_lt = Some(i);
    }
    i += js::ws_len(b, i);
  }
  last_lt
}

/// The value part of the regex from `q` (just after the separator). Never fails: once the
/// separator matched, the unquoted alternative or the empty group always completes the match.
fn match_value(b: &[u8], q: usize) -> (usize, QuoteKind, usize, Option<(u8, Option<usize>)>) {
  let r = js::skip_ws(b, q);
  let mut rejected = None;
  if let Some(&quote) = b.get(r).filter(|c| matches!(c, b'\'' | b'"' | b'`')) {
    // `(?:\\Q|[^Q])*Q`: the body can swallow any Q directly preceded by a backslash, and stops at
    // the first Q that is not. Backtracking then offers, in this order: that first unescaped Q,
    // then every backslash-preceded Q before it, from the right.
    let mut escaped = Vec::new();
    let mut closing = None;
    let mut i = r + 1;
    while let Some(off) = b[i..].iter().position(|&c| c == quote) {
      let at = i + off;
      if b[at - 1] == b'\\' {
        escaped.push(at);
        i = at + 1;
      } else {
        closing = Some(at);
        break;
      }
    }
    let last_candidate = closing.or_else(|| escaped.last().copied());
    for e in closing.into_iter().chain(escaped.into_iter().rev()) {
      if let Some(end) = trailing(b, e + 1) {
        return (e + 1, QuoteKind::of(quote), end, None);
      }
    }
    rejected = Some((quote, last_candidate));
  }
  // `[^#\r\n]+` from q itself (not r): leading blanks are kept for `trim`, a newline stops it.
  let mut x = q;
  while x < b.len() && !matches!(b[x], b'#' | b'\r' | b'\n') {
    x += 1;
  }
  // Both the unquoted alternative and the skipped group are followed by `trailing`, which
  // cannot fail here: at x there is `#`, a line break or the end.
  let end = trailing(b, x).unwrap_or(x);
  (x, QuoteKind::None, end, rejected)
}

/// Tries `(?:export\s+)?([\w.-]+)(?:\s*=\s*?|:\s+?)` then the value, at `w` (first non-blank).
fn match_at(b: &[u8], w: usize) -> Option<RawMatch> {
  let key_sep = |k: usize| -> Option<(usize, usize)> {
    let mut e = k;
    while e < b.len() && is_key_byte(b[e]) {
      e += 1;
    }
    if e == k {
      return None;
    }
    // Backing off the greedy key or `\s*` can never help: the next char would be a key char or
    // blank, neither `=` nor `:`. The lazy `\s*?`/`\s+?` stay minimal because the rest always matches.
    let j = js::skip_ws(b, e);
    if b.get(j) == Some(&b'=') {
      return Some((e, j + 1));
    }
    if b.get(e) == Some(&b':') {
      let n = js::ws_len(b, e + 1);
      if n > 0 {
        return Some((e, e + 1 + n));
      }
    }
    None
  };
  let with_export = if b[w..].starts_with(b"export") && js::ws_len(b, w + 6) > 0 {
    let k = js::skip_ws(b, w + 6);
    key_sep(k).map(|(e, q)| (k, e, q))
  } else {
    None
  };
  let (k, e, q) = with_export.or_else(|| key_sep(w).map(|(e, q)| (w, e, q)))?;
  let (v_end, quote, end, rejected_quote) = match_value(b, q);
  Some(RawMatch {
    key: (k, e),
    value: (q, v_end),
    quote,
    end,
    rejected_quote,
  })
}

/// Drives `LINE.exec` over the whole text.
fn scan(b: &[u8], mut on_match: impl FnMut(RawMatch)) {
  let mut p = 0;
  while p < b.len() {
    if !js::at_line_start(b, p) {
      // Only `^` positions can start a match; jump to just after the next line terminator.
      match b[p..]
        .iter()
        .position(|&c| matches!(c, b'\n' | b'\r' | 0xE2))
      {
        Some(off) => {
          p += off;
          let n = js::lt_len(b, p);
          p += n.max(1);
        }
        None => break,
      }
      continue;
    }
    // The leading `\s*` never gives anything back, so every `^` inside this blank run leads to
    // the same attempt; a failed attempt resumes after the first non-blank character.
    let w = js::skip_ws(b, p);
    if w == b.len() {
      break;
    }
    match match_at(b, w) {
      Some(m) => {
        p = m.end;
        on_match(m);
      }
      None => p = w + js::char_len(b[w]),
    }
  }
}

/// `value.replace(/^(['"`])([\s\S]*)\1$/mg, '$2')` — with the `m` flag, so a value containing
/// U+2028/U+2029 can lose more than one pair.
fn strip_quotes(v: &str) -> Cow<'_, str> {
  let b = v.as_bytes();
  if !b.iter().any(|c| matches!(c, b'\'' | b'"' | b'`')) {
    return Cow::Borrowed(v);
  }
  // For each quote, the rightmost occurrence that a multiline `$` accepts: greedy `[\s\S]*`
  // always backs off to exactly that one.
  let mut last_closing = [None::<usize>; 3];
  for (j, &c) in b.iter().enumerate() {
    let slot = match c {
      b'\'' => 0,
      b'"' => 1,
      b'`' => 2,
      _ => continue,
    };
    if j + 1 == b.len() || js::lt_len(b, j + 1) != 0 {
      last_closing[slot] = Some(j);
    }
  }
  let mut out = String::new();
  let mut copied = 0;
  let mut i = 0;
  while i < b.len() {
    let slot = match b[i] {
      b'\'' => Some(0),
      b'"' => Some(1),
      b'`' => Some(2),
      _ => None,
    };
    if let Some(slot) = slot.filter(|_| js::at_line_start(b, i)) {
      if let Some(j) = last_closing[slot].filter(|&j| j > i) {
        out.push_str(&v[copied..i]);
        out.push_str(&v[i + 1..j]);
        copied = j + 1;
        i = j + 1;
        continue;
      }
    }
    i += js::char_len(b[i]);
  }
  if copied == 0 {
    return Cow::Borrowed(v);
  }
  out.push_str(&v[copied..]);
  Cow::Owned(out)
}

/// `value.replace(/\\n/g, '\n').replace(/\\r/g, '\r')`; one pass gives the same result because
/// neither replacement can create a new `\n`/`\r` pair.
fn unescape_double(v: &str) -> Cow<'_, str> {
  if !v.contains("\\n") && !v.contains("\\r") {
    return Cow::Borrowed(v);
  }
  let mut out = String::with_capacity(v.len());
  let mut it = v.chars().peekable();
  while let Some(c) = it.next() {
    if c == '\\' {
      match it.peek() {
        Some('n') => {
          it.next();
          out.push('\n');
          continue;
        }
        Some('r') => {
          it.next();
          out.push('\r');
          continue;
        }
        _ => {}
      }
    }
    out.push(c);
  }
  Cow::Owned(out)
}

/// The per-match post-processing of dotenv 16.3.1's `parse` loop.
fn finish_value(raw: &str) -> String {
  let v = js::trim(raw);
  // `maybeQuote = value[0]` is a UTF-16 code unit; a quote is ASCII so the first byte decides.
  let double = v.as_bytes().first() == Some(&b'"');
  let v = strip_quotes(v);
  if double {
    unescape_double(&v).into_owned()
  } else {
    v.into_owned()
  }
}

/// See [`crate::parse`].
pub fn parse(src: &str) -> Vec<(String, String)> {
  let text = normalise_newlines(src);
  let b = text.as_bytes();
  let mut obj = JsObject::with_capacity(64);
  scan(b, |m| {
    obj.set(
      &text[m.key.0..m.key.1],
      finish_value(&text[m.value.0..m.value.1]),
    );
  });
  obj.ordered()
}

/// Counts lines incrementally; offsets only move forward during a scan.
struct LineCounter<'a> {
  b: &'a [u8],
  pos: usize,
  line: usize,
}

impl LineCounter<'_> {
  fn line_at(&mut self, at: usize) -> usize {
    if at < self.pos {
      return 1 + self.b[..at].iter().filter(|&&c| c == b'\n').count();
    }
    self.line += self.b[self.pos..at].iter().filter(|&&c| c == b'\n').count();
    self.pos = at;
    self.line
  }
}

/// [`crate::parse`] plus line numbers, quote kinds and warnings. `entries` always equals what
/// `parse` returns (same keys, values and order).
pub fn parse_detailed(src: &str) -> ParsedFile {
  let text = normalise_newlines(src);
  let b = text.as_bytes();
  let mut lines = LineCounter { b, pos: 0, line: 1 };
  let mut obj: JsObject<ParsedEntry> = JsObject::with_capacity(64);
  let mut first_line: HashMap<&str, usize> = HashMap::new();
  let mut warnings = Vec::new();
  // Byte ranges [key start, match end) covered by matches, to find ignored lines afterwards.
  let mut covered: Vec<(usize, usize)> = Vec::new();

  scan(b, |m| {
    let key = &text[m.key.0..m.key.1];
    let line = lines.line_at(m.key.0);
    let raw = &text[m.value.0..m.value.1];
    let value = finish_value(raw);
    covered.push((m.key.0, m.end));
    let mut warn = |kind| warnings.push(ParseWarning { line, kind });

    if let Some((quote, last_candidate)) = m.rejected_quote {
      let quote = char::from(quote);
      match last_candidate {
        None => warn(ParseWarningKind::UnterminatedQuote {
          key: key.to_owned(),
          quote,
          value: value.clone(),
        }),
        Some(close) => warn(ParseWarningKind::TextAfterClosingQuote {
          key: key.to_owned(),
          quote,
          closing_line: 1 + b[..close].iter().filter(|&&c| c == b'\n').count(),
          value: value.clone(),
        }),
      }
    }
    if m.quote != QuoteKind::None {
      let value_start = js::skip_ws(b, m.value.0);
      if b[m.key.1..value_start].contains(&b'\n') {
        warn(ParseWarningKind::ValueOnLaterLine {
          key: key.to_owned(),
          value_line: 1 + b[..value_start].iter().filter(|&&c| c == b'\n').count(),
        });
      }
      let q = match m.quote {
        QuoteKind::Single => "\\'",
        QuoteKind::Double => "\\\"",
        _ => "\\`",
      };
      if raw.contains(q) {
        warn(ParseWarningKind::BackslashKept {
          key: key.to_owned(),
        });
      }
    } else if b.get(m.value.1) == Some(&b'#') {
      let prev = text[..m.value.1].char_indices().next_back().map(|(i, _)| i);
      if prev.is_some_and(|i| js::ws_len(b, i) == 0) {
        let line_end = b[m.value.1..]
          .iter()
          .position(|&c| c == b'\n')
          .map_or(b.len(), |o| m.value.1 + o);
        warn(ParseWarningKind::HashCutValue {
          key: key.to_owned(),
          value: value.clone(),
          dropped: text[m.value.1..line_end].to_owned(),
        });
      }
    }
    if key == "__proto__" {
      warn(ParseWarningKind::ProtoKeyDropped);
    } else if let Some(&first) = first_line.get(key) {
      warn(ParseWarningKind::DuplicateKey {
        key: key.to_owned(),
        first_line: first,
      });
    } else {
      first_line.insert(key, line);
    }
    obj.set(
      key,
      ParsedEntry {
        key: key.to_owned(),
        value,
        line,
        quote: m.quote,
      },
    );
  });

  warnings.extend(ignored_lines(&text, &covered));
  warnings.sort_by_key(|w| w.line);
  ParsedFile {
    entries: obj.ordered().into_iter().map(|(_, e)| e).collect(),
    warnings,
  }
}

/// Non-blank, non-comment lines that no match touched.
fn ignored_lines(text: &str, covered: &[(usize, usize)]) -> Vec<ParseWarning> {
  let mut out = Vec::new();
  let mut start = 0;
  let mut ranges = covered.iter().peekable();
  for (n, line) in text.split('\n').enumerate() {
    let end = start + line.len();
    while ranges.peek().is_some_and(|r| r.1 < start) {
      ranges.next();
    }
    let touched = ranges.peek().is_some_and(|r| r.0 <= end && r.1 >= start);
    let content = js::trim(line);
    if !touched && !content.is_empty() && !content.starts_with('#') {
      out.push(ParseWarning {
        line: n + 1,
        kind: ParseWarningKind::IgnoredLine {
          text: content.to_owned(),
        },
      });
    }
    start = end + 1;
  }
  out
}

#[cfg(test)]
mod tests {
  use super::*;

  fn p(src: &str) -> Vec<(String, String)> {
    parse(src)
  }

  fn one(src: &str) -> Option<String> {
    let mut v = parse(src);
    assert!(v.len() <= 1, "{src:?} gave {v:?}");
    v.pop().map(|(_, v)| v)
  }

  fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
      .iter()
      .map(|(k, v)| (k.to_string(), v.to_string()))
      .collect()
  }

  #[test]
  fn basics() {
    assert_eq!(
      p("A=1\nB = 2 \n  C=3"),
      kv(&[("A", "1"), ("B", "2"), ("C", "3")])
    );
    assert_eq!(one("export FOO=bar").as_deref(), Some("bar"));
    assert_eq!(p("export FOO=bar"), kv(&[("FOO", "bar")]));
    assert_eq!(p("export = x"), kv(&[("export", "x")]));
    assert_eq!(p("export\nFOO=bar"), kv(&[("FOO", "bar")]));
    assert_eq!(p("export FOO"), kv(&[]));
    assert_eq!(p("K: v"), kv(&[("K", "v")]));
    assert_eq!(p("K:v"), kv(&[]));
    assert_eq!(p("K:\nv"), kv(&[("K", "v")]));
    assert_eq!(p("K\n=v"), kv(&[("K", "v")]));
    assert_eq!(p("a.b-c=1\n1X=2"), kv(&[("a.b-c", "1"), ("1X", "2")]));
    assert_eq!(p("FOO BAR=baz\n\u{c4}B=1\nna\u{ef}ve=2"), kv(&[]));
  }

  #[test]
  fn line_endings() {
    let want = kv(&[("A", "1"), ("B", "2")]);
    assert_eq!(p("A=1\r\nB=2\r\n"), want);
    assert_eq!(p("A=1\rB=2\r"), want);
    assert_eq!(p("A=\"x\r\ny\""), kv(&[("A", "x\ny")]));
  }

  #[test]
  fn quotes() {
    assert_eq!(one("A='a b'").as_deref(), Some("a b"));
    assert_eq!(one("A=\"  x  \"").as_deref(), Some("  x  "));
    assert_eq!(one("A=`x`").as_deref(), Some("x"));
    assert_eq!(one("A=\"a\\nb\\rc\\t\"").as_deref(), Some("a\nb\rc\\t"));
    assert_eq!(one("A='a\\nb'").as_deref(), Some("a\\nb"));
    assert_eq!(one("A=a\\nb").as_deref(), Some("a\\nb"));
    assert_eq!(one("A=\"\\\\n\"").as_deref(), Some("\\\n"));
    assert_eq!(one("A=\"a\\\"b\"").as_deref(), Some("a\\\"b"));
    assert_eq!(one("A=\"").as_deref(), Some("\""));
    assert_eq!(one("A=\"abc\" def").as_deref(), Some("\"abc\" def"));
    assert_eq!(one("A='a'b'").as_deref(), Some("a'b"));
    // Rejected double-quoted candidates still get `\n` unescaped (value starts with `"`).
    assert_eq!(one("A=\"a\\nb\" def").as_deref(), Some("\"a\nb\" def"));
    // A backslash-quote is a closing candidate when the greedy one is followed by junk.
    assert_eq!(one("A=\"a\\\" #c").as_deref(), Some("a\\"));
  }

  #[test]
  fn multiline() {
    assert_eq!(p("A=\"x\ny\"\nB=1"), kv(&[("A", "x\ny"), ("B", "1")]));
    assert_eq!(
      p("A=\"line1\nline2\" junk\nB=1"),
      kv(&[("A", "\"line1"), ("B", "1")])
    );
    assert_eq!(
      p("EMPTY=\n'quoted'\nB=1"),
      kv(&[("EMPTY", "quoted"), ("B", "1")])
    );
    assert_eq!(p("EMPTY=\nB=1"), kv(&[("EMPTY", ""), ("B", "1")]));
  }

  #[test]
  fn comments_and_empties() {
    assert_eq!(one("A=abc#def").as_deref(), Some("abc"));
    assert_eq!(one("A=#x").as_deref(), Some(""));
    assert_eq!(one("A= # c").as_deref(), Some(""));
    assert_eq!(one("A=''").as_deref(), Some(""));
    assert_eq!(one("A=``").as_deref(), Some(""));
    assert_eq!(one("A='#x' # y").as_deref(), Some("#x"));
    assert_eq!(p("# A=1"), kv(&[]));
  }

  #[test]
  fn whitespace_is_js_whitespace() {
    assert_eq!(p("\u{feff}A=1"), kv(&[("A", "1")]));
    assert_eq!(one("A=\u{a0}x\u{a0}\u{3000}").as_deref(), Some("x"));
    assert_eq!(one("A=\u{85}x").as_deref(), Some("\u{85}x"));
  }

  #[test]
  fn u2028_is_a_regex_line_terminator() {
    // Unquoted values run over U+2028 (`[^#\r\n]`), quoted ones end the line there.
    assert_eq!(p("A=1\u{2028}B=2"), kv(&[("A", "1\u{2028}B=2")]));
    assert_eq!(p("A='x'\u{2028}B=2"), kv(&[("A", "x"), ("B", "2")]));
    // The quote-stripping regex is multiline too.
    assert_eq!(one("A=a\u{2028}'b'").as_deref(), Some("a\u{2028}b"));
  }

  #[test]
  fn duplicates_and_order() {
    assert_eq!(
      p("B=1\n10=x\nA=2\nB=3\n2=y\n__proto__=z"),
      kv(&[("2", "y"), ("10", "x"), ("B", "3"), ("A", "2")])
    );
  }

  #[test]
  fn non_bmp_is_plain_text() {
    assert_eq!(one("A=\"\u{1F600}\"").as_deref(), Some("\u{1F600}"));
    assert_eq!(one("A=\u{1F600} #c").as_deref(), Some("\u{1F600}"));
    assert_eq!(p("\u{1F600}=1\nB=2"), kv(&[("B", "2")]));
  }

  #[test]
  fn detailed_entries_match_parse() {
    let src = "A=1\nB='x\ny'\n\nC=\"open\nD=2\nA=3\n";
    let d = parse_detailed(src);
    let flat: Vec<_> = d
      .entries
      .iter()
      .map(|e| (e.key.clone(), e.value.clone()))
      .collect();
    assert_eq!(flat, parse(src));
    let lines: Vec<_> = d
      .entries
      .iter()
      .map(|e| (e.key.as_str(), e.line, e.quote))
      .collect();
    assert_eq!(
      lines,
      vec![
        ("A", 7, QuoteKind::None),
        ("B", 2, QuoteKind::Single),
        ("C", 5, QuoteKind::None),
        ("D", 6, QuoteKind::None)
      ]
    );
    assert!(d.warnings.contains(&ParseWarning {
      line: 5,
      kind: ParseWarningKind::UnterminatedQuote {
        key: "C".into(),
        quote: '"',
        value: "\"open".into()
      }
    }));
    assert!(d.warnings.contains(&ParseWarning {
      line: 7,
      kind: ParseWarningKind::DuplicateKey {
        key: "A".into(),
        first_line: 1
      }
    }));
  }

  #[test]
  fn detailed_warnings() {
    let d = parse_detailed(
      "P=ab#c\nC=#fff\nOK=a # c\nK:v\nE=\n\"q\"\nX=\"a\\\"b\"\n__proto__=1\nT=\"a\" b",
    );
    let kinds: Vec<_> = d.warnings.iter().map(|w| (w.line, &w.kind)).collect();
    assert!(
      matches!(kinds[0], (1, ParseWarningKind::HashCutValue { value, dropped, .. }) if value == "ab" && dropped == "#c")
    );
    assert!(
      matches!(kinds[1], (2, ParseWarningKind::HashCutValue { value, .. }) if value.is_empty())
    );
    assert!(matches!(kinds[2], (4, ParseWarningKind::IgnoredLine { text }) if text == "K:v"));
    assert!(matches!(
      kinds[3],
      (5, ParseWarningKind::ValueOnLaterLine { value_line: 6, .. })
    ));
    assert!(matches!(
      kinds[4],
      (7, ParseWarningKind::BackslashKept { .. })
    ));
    assert!(matches!(kinds[5], (8, ParseWarningKind::ProtoKeyDropped)));
    assert!(matches!(
      kinds[6],
      (
        9,
        ParseWarningKind::TextAfterClosingQuote {
          closing_line: 9,
          ..
        }
      )
    ));
    assert_eq!(kinds.len(), 7, "{kinds:?}");
  }
}
