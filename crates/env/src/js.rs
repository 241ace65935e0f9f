//! The few JavaScript semantics that dotenv 16.3.1 and dotenv-expand 10.0.0 lean on without saying so:
//! the `\s`/`trim` whitespace set, regex line terminators, property-key order and UTF-16 lengths.

use std::collections::HashMap;

/// Byte length of the JS `\s` / `String.prototype.trim` whitespace character starting at `i`, or 0.
///
/// The set is ECMAScript WhiteSpace + LineTerminator as V8 11 (Node 20) implements it:
/// `[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]`. It is not Rust's
/// `char::is_whitespace`: U+FEFF (a BOM) is JS whitespace, U+0085 is not. Checked against
/// `/\s/.test` and `trim` for every BMP code unit in Node 20.20.2.
#[inline]
pub(crate) fn ws_len(b: &[u8], i: usize) -> usize {
  match b.get(i) {
    Some(9..=13 | b' ') => 1,
    Some(0xC2) if b.get(i + 1) == Some(&0xA0) => 2,
    Some(0xE1) if b.get(i + 1..i + 3) == Some(&[0x9A, 0x80]) => 3,
    Some(0xE2) => match (b.get(i + 1), b.get(i + 2)) {
      (Some(0x80), Some(0x80..=0x8A | 0xA8 | 0xA9 | 0xAF)) => 3,
      (Some(0x81), Some(0x9F)) => 3,
      _ => 0,
    },
    Some(0xE3) if b.get(i + 1..i + 3) == Some(&[0x80, 0x80]) => 3,
    Some(0xEF) if b.get(i + 1..i + 3) == Some(&[0xBB, 0xBF]) => 3,

    _ => 0,
  }
}

/// Byte length of a JS regex LineTerminator (`\n`, `\r`, U+2028, U+2029) starting at `i`, or 0.
/// These are where `^`/`$` (with the `m` flag) match and where `.` stops.
#[inline]
pub(crate) fn lt_len(b: &[u8], i: usize) -> usize {
  match b.get(i) {
    Some(b'\n' | b'\r') => 1,
    Some(0xE2) if matches!(b.get(i + 1..i + 3), Some([0x80, 0xA8 | 0xA9])) => 3,
    _ => 0,
  }
}

/// Whether a multiline `^` matches at byte offset `i`.
#[inline]
pub(crate) fn at_line_start(b: &[u8], i: usize) -> bool {
  i == 0 || matches!(b[i - 1], b'\n' | b'\r') || (i >= 3 && lt_len(b, i - 3) == 3)
}

/// First offset `>= i` that is not JS whitespace.
#[inline]
pub(crate) fn skip_ws(b: &[u8], mut i: usize) -> usize {
  loop {
    let n = ws_len(b, i);
    if n == 0 {
      return i;
    }
    i += n;
  }
}

/// `String.prototype.trim`.
pub(crate) fn trim(s: &str) -> &str {
  let b = s.as_bytes();
  let start = skip_ws(b, 0);
  let mut end = b.len();
  while end > start {
    // Walk back to the start of the previous character.
    let mut c = end - 1;
    while b[c] & 0xC0 == 0x80 {
      c -= 1;
    }
    if ws_len(b, c) == 0 {
      break;
    }
    end = c;
  }
  &s[start..end]
}

/// Byte length of the UTF-8 character starting with byte `first`.
#[inline]
pub(crate) fn char_len(first: u8) -> usize {
  match first {
    0x00..=0x7F => 1,
    0xC0..=0xDF => 2,
    0xE0..=0xEF => 3,
    _ => 4,
  }
}

/// Length in UTF-16 code units, which is what V8 limits and what JS indices count.
pub(crate) fn utf16_len(s: &str) -> usize {
  s.bytes()
    .map(|b| usize::from(b & 0xC0 != 0x80) + usize::from(b >= 0xF0))
    .sum()
}

/// V8's `String::kMaxLength` on 64-bit (2^29 - 24 UTF-16 units); longer strings throw
/// `RangeError: Invalid string length`.
pub(crate) const JS_MAX_STRING_LENGTH: usize = (1 << 29) - 24;

/// `Some(n)` when `key` is a canonical array index ("0", "1", … "4294967294", no leading zeros, no
/// sign). JS objects list those keys first in ascending numeric order; V8 11 treats "4294967295"
/// and above as ordinary string keys (checked in Node 20.20.2).
pub(crate) fn array_index(key: &str) -> Option<u32> {
  let b = key.as_bytes();
  if b.is_empty() || b.len() > 10 || !b.iter().all(u8::is_ascii_digit) {
    return None;
  }
  if b[0] == b'0' && b.len() > 1 {
    return None;
  }
  let n: u64 = key.parse().ok()?;
  (n < u64::from(u32::MAX)).then_some(n as u32)
}

/// An ordered string→string map with the semantics of assigning into a plain JS object literal `{}`.
///
/// * a repeated key overwrites the value but keeps its first position;
/// * `__proto__` is never stored: assigning a string to it hits the `Object.prototype` setter, which
///   ignores primitives (so dotenv 16.3.1 silently drops a `__proto__=` line);
/// * iteration order (`ordered`) puts array-index keys first, ascending, then the rest by first
///   insertion — the order of `for…in`, `Object.keys` and JSON output.
#[derive(Debug, Default, Clone)]
pub(crate) struct JsObject<V> {
  entries: Vec<(String, V)>,
  index: HashMap<String, usize>,
}

impl<V> JsObject<V> {
  pub(crate) fn with_capacity(n: usize) -> Self {
    JsObject {
      entries: Vec::with_capacity(n),
      index: HashMap::with_capacity(n),
    }
  }

  /// Returns false when the assignment was swallowed (`__proto__`).
  pub(crate) fn set(&mut self, key: &str, value: V) -> bool {
    if key == "__proto__" {
      return false;
    }
    match self.index.get(key) {
      Some(&i) => self.entries[i].1 = value,
      None => {
        self.index.insert(key.to_owned(), self.entries.len());
        self.entries.push((key.to_owned(), value));
      }
    }
    true
  }

  /// Entries in JS property order.
  pub(crate) fn ordered(self) -> Vec<(String, V)> {
    let mut entries = self.entries;
    if entries.iter().any(|(k, _)| array_index(k).is_some()) {
      // Stable: string keys keep insertion order behind all the index keys.
      entries.sort_by_key(|(k, _)| match array_index(k) {
        Some(n) => (0u8, n),
        None => (1u8, 0),
      });
    }
    entries
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn whitespace_set_matches_js() {
    let js_ws: Vec<u32> = vec![
      0x9, 0xa, 0xb, 0xc, 0xd, 0x20, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005,
      0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff,
    ];
    for cp in 0..=0xFFFFu32 {
      let Some(c) = char::from_u32(cp) else {
        continue;
      };
      let s = c.to_string();
      let expected = js_ws.contains(&cp);
      assert_eq!(ws_len(s.as_bytes(), 0) != 0, expected, "U+{cp:04X}");
    }
    // Rust's set differs exactly here.
    assert_eq!(ws_len("\u{85}".as_bytes(), 0), 0);
    assert_eq!(ws_len("\u{feff}".as_bytes(), 0), 3);
  }

  #[test]
  fn trim_uses_js_set() {
    assert_eq!(trim("\u{feff}\u{a0} a b\u{2028}\u{3000}"), "a b");
    assert_eq!(trim("\u{85}a\u{85}"), "\u{85}a\u{85}");
    assert_eq!(trim(" \t "), "");
    assert_eq!(trim("é\u{a0}"), "é");
  }

  #[test]
  fn line_starts() {
    let s = "a\u{2028}b\nc\u{2029}d".as_bytes();
    let starts: Vec<usize> = (0..=s.len()).filter(|&i| at_line_start(s, i)).collect();
    assert_eq!(starts, vec![0, 4, 6, 10]);
  }

  #[test]
  fn array_index_bounds() {
    assert_eq!(array_index("0"), Some(0));
    assert_eq!(array_index("4294967294"), Some(4294967294));
    assert_eq!(array_index("4294967295"), None);
    assert_eq!(array_index("01"), None);
    assert_eq!(array_index("-1"), None);
    assert_eq!(array_index("1.5"), None);
    assert_eq!(array_index(""), None);
    assert_eq!(array_index("99999999999"), None);
  }

  #[test]
  fn js_object_order_and_proto() {
    let mut o = JsObject::with_capacity(4);
    for (k, v) in [
      ("b", 1),
      ("10", 2),
      ("__proto__", 3),
      ("2", 4),
      ("b", 5),
      ("01", 6),
    ] {
      o.set(k, v);
    }
    let got: Vec<(String, i32)> = o.ordered();
    let want: Vec<(String, i32)> = vec![
      ("2".into(), 4),
      ("10".into(), 2),
      ("b".into(), 5),
      ("01".into(), 6),
    ];
    assert_eq!(got, want);
  }

  #[test]
  fn utf16_lengths() {
    assert_eq!(utf16_len("a\u{e9}\u{20ac}\u{1F600}"), 5);
  }
}
