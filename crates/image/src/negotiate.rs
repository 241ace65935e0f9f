//! Which output format a request gets, as Next 16.4 decides it: the one place that policy
//! lives. The `optimizeImage` binding uses it through [`OutputFormat::resolve`], and the image
//! route (`lib/image/accept.js`, which needs the answer for its cache key before it fetches
//! anything) asks the `negotiateImageType` binding, [`negotiate_mime_type`]; both bindings
//! only convert types.

use std::cmp::Ordering;

use crate::{format, ImageError, InputFormat, OutputFormat};

impl OutputFormat {
  /// The output format named `name`: `avif`, `webp`, `jpeg`/`jpg`, `png`, `gif` or
  /// `tiff`/`tif`, or its MIME type (`image/webp`), any case, surrounding spaces ignored.
  pub fn from_name(name: &str) -> Option<OutputFormat> {
    match name
      .trim()
      .to_ascii_lowercase()
      .trim_start_matches("image/")
    {
      "avif" => Some(OutputFormat::Avif),
      "webp" => Some(OutputFormat::Webp),
      "jpeg" | "jpg" => Some(OutputFormat::Jpeg),
      "png" => Some(OutputFormat::Png),
      "gif" => Some(OutputFormat::Gif),
      "tiff" | "tif" => Some(OutputFormat::Tiff),
      _ => None,
    }
  }

  /// The format an optimization of `input` produces, Next's rule in one place: `explicit`
  /// when given; else the one `accept` negotiates among `formats` (default `[Webp]`, Next's
  /// `images.formats`; see [`negotiate_format`]); else [`fallback_format`] of the input's
  /// sniffed type. Refuses a malformed `accept` (`IMAGE_INVALID_OPTIONS`, where Next answers
  /// 500) and, when the fallback needs it, input that is not an image we read.
  pub fn resolve(
    accept: Option<&str>,
    formats: Option<&[OutputFormat]>,
    explicit: Option<OutputFormat>,
    input: &[u8],
  ) -> Result<OutputFormat, ImageError> {
    if let Some(format) = explicit {
      return Ok(format);
    }
    let formats = formats.unwrap_or(&[OutputFormat::Webp]);
    if let Some(accept) = accept {
      if let Some(format) = negotiate_format(accept, formats)? {
        return Ok(format);
      }
    }
    Ok(fallback_format(format::sniff(input)?))
  }
}

/// Next's `getSupportedMimeType(formats, accept)` over output formats: the negotiated format,
/// `None` when the header names none of `formats` literally. See [`negotiate_mime_type`].
pub fn negotiate_format(
  accept: &str,
  formats: &[OutputFormat],
) -> Result<Option<OutputFormat>, ImageError> {
  let names: Vec<&str> = formats.iter().map(|f| f.mime()).collect();
  let chosen = negotiate_mime_type(accept, &names)?;
  // Next keeps the header's parameters on the answer (`image/webp;x=1`); the route encodes by
  // the type before them, as lib/image/transform.js does.
  let media = chosen.split(';').next().unwrap_or("");
  Ok(formats.iter().copied().find(|f| f.mime() == media))
}

/// Next 16.4.6's `getSupportedMimeType(options, accept)` (`server/image-optimizer.js`):
/// @hapi/accept 6's `mediaType(accept, options)`, kept only if the raw header contains the
/// answer literally, else `""`. So `*/*` and `image/*` never select a type, `IMAGE/WEBP` does
/// not match (hapi lower-cases, the literal check does not), the highest q wins with ties
/// broken by subtype alphabetically (`image/avif,image/webp` picks AVIF whatever the order of
/// `options`), and the answer carries the header's media parameters (`image/webp;x=1`). A
/// parameter without `=value` (`;x`, `;x=`) is refused, as hapi's Boom refuses it (Next: 500).
pub fn negotiate_mime_type(accept: &str, options: &[&str]) -> Result<String, ImageError> {
  let chosen = hapi_media_types(accept, options)?
    .into_iter()
    .next()
    .unwrap_or_default();
  Ok(if accept.contains(chosen.as_str()) {
    chosen
  } else {
    String::new()
  })
}

/// A JS object's own string keys in `Object.keys` order: array-index keys ascending, then the
/// rest in insertion order. @hapi/accept keeps its tables in objects, and its answer depends
/// on that order.
struct JsKeys<V> {
  entries: Vec<(String, V)>,
}

impl<V> JsKeys<V> {
  fn new() -> Self {
    JsKeys {
      entries: Vec::new(),
    }
  }

  fn get(&self, key: &str) -> Option<&V> {
    self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
  }

  fn set(&mut self, key: &str, value: V) {
    match self.entries.iter_mut().find(|(k, _)| k == key) {
      Some(entry) => entry.1 = value,
      None => self.entries.push((key.to_owned(), value)),
    }
  }

  fn keys(&self) -> Vec<&str> {
    let index = |k: &str| -> Option<u32> {
      let n: u32 = k.parse().ok()?;
      (n != u32::MAX && n.to_string() == k).then_some(n)
    };
    let mut indices: Vec<(u32, &str)> = self
      .entries
      .iter()
      .filter_map(|(k, _)| index(k).map(|n| (n, k.as_str())))
      .collect();
    indices.sort_unstable();
    let mut keys: Vec<&str> = indices.into_iter().map(|(_, k)| k).collect();
    keys.extend(
      self
        .entries
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| index(k).is_none()),
    );
    keys
  }
}

/// What `({})[name]` finds on `Object.prototype` (hapi's token map is a plain object).
fn on_object_prototype(name: &str) -> bool {
  matches!(
    name,
    "constructor"
      | "__proto__"
      | "__defineGetter__"
      | "__defineSetter__"
      | "__lookupGetter__"
      | "__lookupSetter__"
      | "hasOwnProperty"
      | "isPrototypeOf"
      | "propertyIsEnumerable"
      | "toString"
      | "toLocaleString"
      | "valueOf"
  )
}

fn is_tchar(c: char) -> bool {
  c.is_ascii_alphanumeric() || "_!#$%&'*+-.^`|~".contains(c)
}

/// hapi's `/^(?:\*\/\*)|(?:T+\/\*)|(?:T+\/T+)$/`, alternation precedence included: starts
/// with `*/*`, or contains `T/*`, or ends with `T+/T+`.
fn valid_media(token: &str) -> bool {
  let b = token.as_bytes();
  let t = |i: usize| is_tchar(b[i] as char);
  if token.starts_with("*/*") {
    return true;
  }
  if (1..b.len()).any(|i| b[i] == b'/' && b.get(i + 1) == Some(&b'*') && t(i - 1)) {
    return true;
  }
  match token.rfind('/') {
    Some(p) => p > 0 && t(p - 1) && p + 1 < b.len() && (p + 1..b.len()).all(t),
    None => false,
  }
}

/// JS `parseFloat`: the longest numeric prefix after leading white space, NaN without one.
fn js_parse_float(s: &str) -> f64 {
  // JS white space: Rust's plus U+FEFF, without U+0085.
  let s = s.trim_start_matches(|c: char| (c.is_whitespace() && c != '\u{85}') || c == '\u{feff}');
  let b = s.as_bytes();
  let mut i = 0;
  if matches!(b.first(), Some(b'+' | b'-')) {
    i = 1;
  }
  if s[i..].starts_with("Infinity") {
    return if b.first() == Some(&b'-') {
      f64::NEG_INFINITY
    } else {
      f64::INFINITY
    };
  }
  let digits = |mut j: usize| {
    while j < b.len() && b[j].is_ascii_digit() {
      j += 1;
    }
    j
  };
  let int_end = digits(i);
  let mut end = int_end;
  if b.get(end) == Some(&b'.') {
    let frac_end = digits(end + 1);
    if frac_end > end + 1 || int_end > i {
      end = frac_end;
    }
  }
  if end == i || (end == i + 1 && b[i] == b'.') {
    return f64::NAN;
  }
  if matches!(b.get(end), Some(b'e' | b'E')) {
    let mut j = end + 1;
    if matches!(b.get(j), Some(b'+' | b'-')) {
      j += 1;
    }
    let exp_end = digits(j);
    if exp_end > j {
      end = exp_end;
    }
  }
  s[..end].parse().unwrap_or(f64::NAN)
}

struct Selection {
  token: String,
  kind: String,
  subtype: String,
  original: String,
  specificity: usize,
  q: f64,
  pos: usize,
}

fn js_less(a: &str, b: &str) -> bool {
  a.encode_utf16().cmp(b.encode_utf16()) == Ordering::Less
}

/// @hapi/accept 6's `mediaType(header, preferences)` without the final `[0]`: the preferences
/// the header accepts, best first, step for step.
fn hapi_media_types(header: &str, preferences: &[&str]) -> Result<Vec<String>, ImageError> {
  let bad = || ImageError::InvalidOptions("invalid accept header".into());
  let mut header = if header.is_empty() { "*/*" } else { header }.to_owned();
  // Quoted parameter values are set aside as `"1`, `"2`… and put back, quoted, below.
  let mut quoted: Vec<(String, String)> = Vec::new();
  if header.contains('"') {
    let mut out = String::with_capacity(header.len());
    let mut rest = header.as_str();
    while let Some(p) = rest.find("=\"") {
      let Some(close) = rest[p + 2..].find('"') else {
        break;
      };
      let key = format!("\"{}", quoted.len() + 1);
      quoted.push((key.clone(), rest[p + 2..p + 2 + close].to_owned()));
      out.push_str(&rest[..p]);
      out.push('=');
      out.push_str(&key);
      rest = &rest[p + 2 + close + 1..];
    }
    out.push_str(rest);
    header = out;
  }
  header.retain(|c| c != ' ' && c != '\t');

  let mut selections: Vec<Selection> = Vec::new();
  // Token → its last entry's type and subtype (hapi's `map`).
  let mut map: JsKeys<()> = JsKeys::new();
  for (pos, part) in header.split(',').enumerate() {
    if part.is_empty() {
      continue;
    }
    let mut params = part.split(';');
    let token = params.next().unwrap_or("").to_lowercase();
    if !valid_media(&token) {
      continue;
    }
    let mut media_params: JsKeys<String> = JsKeys::new();
    let mut in_exts = false;
    let mut q = None;
    for param in params {
      let kv: Vec<&str> = param.split('=').collect();
      if kv.len() != 2 || kv[1].is_empty() {
        return Err(bad());
      }
      if kv[0] == "q" || kv[0] == "Q" {
        in_exts = true;
        let mut value = js_parse_float(kv[1]);
        if !value.is_finite() || value > 1.0 || (value < 0.001 && value != 0.0) {
          value = 1.0;
        }
        q = Some(value);
      } else if !in_exts && kv[0] != "__proto__" {
        let value = if kv[1].starts_with('"') {
          let restored = quoted
            .iter()
            .find(|(k, _)| k == kv[1])
            .map_or("undefined", |(_, v)| v.as_str());
          format!("\"{restored}\"")
        } else {
          kv[1].to_owned()
        };
        media_params.set(kv[0], value);
      }
    }
    let keys = media_params.keys();
    let original: String = keys
      .iter()
      .map(|k| format!(";{k}={}", media_params.get(k).map_or("", |v| v.as_str())))
      .collect();
    let mut halves = token.split('/');
    let kind = halves.next().unwrap_or("").to_owned();
    let subtype = halves.next().unwrap_or("undefined").to_owned();
    map.set(&token, ());
    let q = q.unwrap_or(1.0);
    if q != 0.0 {
      selections.push(Selection {
        token,
        kind,
        subtype,
        original,
        specificity: keys.len(),
        q,
        pos,
      });
    }
  }
  let inner = |a: &str, b: &str| {
    if a == "*" {
      Ordering::Greater
    } else if b == "*" || js_less(a, b) {
      Ordering::Less
    } else {
      Ordering::Greater
    }
  };
  selections.sort_by(|a, b| {
    if a.q != b.q {
      return b.q.partial_cmp(&a.q).unwrap_or(Ordering::Equal);
    }
    if a.kind != b.kind {
      return inner(&a.kind, &b.kind);
    }
    if a.subtype != b.subtype {
      return inner(&a.subtype, &b.subtype);
    }
    if a.specificity != b.specificity {
      return b.specificity.cmp(&a.specificity);
    }
    a.pos.cmp(&b.pos)
  });

  let mut by_type: JsKeys<JsKeys<String>> = JsKeys::new();
  let mut lowered: JsKeys<String> = JsKeys::new();
  let mut any = false;
  for pref in preferences {
    let lower = pref.to_lowercase();
    lowered.set(&lower, (*pref).to_owned());
    let mut halves = lower.split('/');
    let kind = halves.next().unwrap_or("");
    let subtype = halves.next().unwrap_or("undefined");
    if kind == "*" {
      any = true;
      continue;
    }
    if by_type.get(kind).is_none() {
      by_type.set(kind, JsKeys::new());
    }
    if let Some(entry) = by_type.entries.iter_mut().find(|(k, _)| k == kind) {
      entry.1.set(subtype, (*pref).to_owned());
    }
  }
  let in_map = |name: &str| map.get(name).is_some() || on_object_prototype(name);
  let truthy = |v: Option<&String>| v.filter(|s| !s.is_empty()).cloned();
  let mut out = Vec::new();
  for sel in &selections {
    let subtypes = by_type.get(&sel.kind);
    if sel.kind == "*" {
      for pref in lowered.keys() {
        if !in_map(pref) {
          out.push(lowered.get(pref).cloned().unwrap_or_default());
        }
      }
      if any {
        out.push("*/*".to_owned());
      }
      continue;
    }
    if any {
      let name = truthy(lowered.get(&sel.token)).unwrap_or_else(|| sel.token.clone());
      out.push(name + &sel.original);
      continue;
    }
    if sel.subtype != "*" {
      let pref = truthy(lowered.get(&sel.token));
      let wildcard = subtypes.and_then(|s| truthy(s.get("*"))).is_some();
      if pref.is_some() || wildcard {
        out.push(pref.unwrap_or_else(|| sel.token.clone()) + &sel.original);
      }
      continue;
    }
    if let Some(subtypes) = subtypes {
      for sub in subtypes.keys() {
        if !in_map(&format!("{}/{sub}", sel.kind)) {
          out.push(subtypes.get(sub).cloned().unwrap_or_default());
        }
      }
    }
  }
  Ok(out)
}

/// The format Next re-encodes to when nothing was negotiated: JPEG for WebP/AVIF sources (old
/// browsers), else the source's own format. BMP, which Next never optimizes (it serves it
/// unchanged), comes out as PNG here.
pub fn fallback_format(source: InputFormat) -> OutputFormat {
  match source {
    InputFormat::Jpeg | InputFormat::Webp | InputFormat::Avif => OutputFormat::Jpeg,
    InputFormat::Png | InputFormat::Bmp => OutputFormat::Png,
    InputFormat::Gif => OutputFormat::Gif,
    InputFormat::Tiff => OutputFormat::Tiff,
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use OutputFormat::{Avif, Gif, Jpeg, Png, Webp};

  const CHROME: &str = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8";

  fn n(accept: &str, formats: &[OutputFormat]) -> Option<OutputFormat> {
    negotiate_format(accept, formats).unwrap()
  }

  #[test]
  fn literal_names_only_and_avif_wins_ties() {
    assert_eq!(n(CHROME, &[Webp]), Some(Webp));
    assert_eq!(n(CHROME, &[Webp, Avif]), Some(Avif));
    assert_eq!(n(CHROME, &[Avif, Webp]), Some(Avif));
    assert_eq!(n("image/webp,*/*", &[Webp, Avif]), Some(Webp));
    assert_eq!(n("*/*", &[Webp, Avif]), None);
    assert_eq!(n("image/*", &[Webp]), None);
    assert_eq!(n("", &[Webp]), None);
  }

  #[test]
  fn q_values_decide_before_names() {
    assert_eq!(n("image/avif;q=0.5, image/webp", &[Avif, Webp]), Some(Webp));
    assert_eq!(n("image/avif;q=0,image/webp", &[Avif, Webp]), Some(Webp));
    assert_eq!(
      n("image/avif;q=0, image/webp;q=0.1", &[Avif, Webp]),
      Some(Webp)
    );
    // hapi reads a q over 1 (or under 0.001, or not a number) as 1.
    assert_eq!(
      n("image/webp;q=0.9, image/avif;q=7", &[Avif, Webp]),
      Some(Avif)
    );
    assert_eq!(
      n("image/webp;q=0.9, image/avif;q=x", &[Avif, Webp]),
      Some(Avif)
    );
  }

  #[test]
  fn next_quirks_are_kept() {
    // hapi lower-cases the header, Next's literal check does not.
    assert_eq!(n("IMAGE/AVIF", &[Avif, Webp]), None);
    assert_eq!(n("IMAGE/WEBP", &[Webp]), None);
    // image/* ranks first and hapi answers WebP (AVIF is named on its own), which the header
    // does not name literally: nothing, although it names AVIF.
    assert_eq!(n("image/*;q=0.9, image/avif;q=0.5", &[Webp, Avif]), None);
    // The answer keeps the header's parameters.
    assert_eq!(
      negotiate_mime_type("image/webp;b=2;a=1", &["image/webp"]).unwrap(),
      "image/webp;b=2;a=1"
    );
    // Quoted values keep their spaces and commas.
    let quoted = "image/webp;x=\"a, b\"";
    assert_eq!(
      negotiate_mime_type(quoted, &["image/webp"]).unwrap(),
      quoted
    );
    assert_eq!(n(quoted, &[Webp]), Some(Webp));
    assert_eq!(negotiate_mime_type("", &["image/webp"]).unwrap(), "");
  }

  #[test]
  fn a_parameter_without_a_value_is_refused() {
    for bad in [
      "image/webp;x",
      "image/webp;x=",
      "image/webp;q=1=2",
      "image/webp;",
    ] {
      assert_eq!(
        negotiate_format(bad, &[Webp]).unwrap_err().code(),
        "IMAGE_INVALID_OPTIONS",
        "{bad}"
      );
    }
    // An invalid media range is skipped before its parameters are read.
    assert_eq!(n("nonsense;x, image/webp", &[Webp]), Some(Webp));
  }

  #[test]
  fn parse_float_reads_prefixes_like_js() {
    assert_eq!(js_parse_float("0.5abc"), 0.5);
    assert_eq!(js_parse_float(".5"), 0.5);
    assert_eq!(js_parse_float("5."), 5.0);
    assert_eq!(js_parse_float("1e-3x"), 0.001);
    assert_eq!(js_parse_float("2e"), 2.0);
    assert_eq!(js_parse_float("-Infinity"), f64::NEG_INFINITY);
    assert!(js_parse_float(".").is_nan());
    assert!(js_parse_float("x1").is_nan());
  }

  #[test]
  fn object_key_order_is_js_order() {
    let mut keys: JsKeys<u8> = JsKeys::new();
    for k in ["b", "2", "a", "10", "01", "2"] {
      keys.set(k, 0);
    }
    assert_eq!(keys.keys(), ["2", "10", "b", "a", "01"]);
  }

  const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0];
  const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
  const WEBP: &[u8] = b"RIFF\0\0\0\0WEBPVP8 ";

  #[test]
  fn resolve_explicit_then_negotiated_then_fallback() {
    let r = OutputFormat::resolve;
    assert_eq!(r(Some(CHROME), None, Some(Png), JPEG), Ok(Png));
    assert_eq!(r(Some(CHROME), None, None, JPEG), Ok(Webp)); // formats default to WebP
    assert_eq!(r(Some(CHROME), Some(&[Avif, Webp]), None, PNG), Ok(Avif));
    assert_eq!(r(Some("*/*"), None, None, PNG), Ok(Png));
    assert_eq!(r(None, None, None, WEBP), Ok(Jpeg));
    assert_eq!(r(Some(CHROME), Some(&[]), None, b"GIF89a"), Ok(Gif));
    assert_eq!(
      r(Some("image/webp;x"), None, None, JPEG)
        .unwrap_err()
        .code(),
      "IMAGE_INVALID_OPTIONS"
    );
    assert_eq!(r(None, None, None, b"").unwrap_err().code(), "IMAGE_EMPTY");
  }

  #[test]
  fn names_and_mime_types() {
    assert_eq!(OutputFormat::from_name(" Image/WebP "), Some(Webp));
    assert_eq!(OutputFormat::from_name("jpg"), Some(Jpeg));
    assert_eq!(OutputFormat::from_name("tif"), Some(OutputFormat::Tiff));
    assert_eq!(OutputFormat::from_name("bmp"), None);
    for f in [Avif, Webp, Jpeg, Png, Gif, OutputFormat::Tiff] {
      assert_eq!(OutputFormat::from_name(f.mime()), Some(f));
    }
  }
}
