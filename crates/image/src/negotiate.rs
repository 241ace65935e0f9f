//! Which output format a request gets, as Next 16.4 decides it.

use crate::{InputFormat, OutputFormat};

/// Next's `getSupportedMimeType(formats, accept)`: @hapi/accept's `mediaType` over the
/// configured `formats`, kept only if the Accept header names that type literally. So
/// `*/*` and `image/*` never yield WebP or AVIF, and among formats the header names, the
/// highest q wins, ties broken by subtype alphabetically: with `image/avif,image/webp` AVIF
/// beats WebP even when `formats` lists WebP first (Next 16.4.6
/// `next/dist/server/image-optimizer.js`, and @hapi/accept's sort of header entries).
pub fn negotiate_format(accept: &str, formats: &[OutputFormat]) -> Option<OutputFormat> {
  let mut best: Option<(f32, OutputFormat)> = None;
  for entry in accept.split(',') {
    let mut parts = entry.split(';');
    let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let Some(format) = formats.iter().copied().find(|f| f.mime() == media) else {
      continue;
    };
    let q = parts
      .filter_map(|p| p.trim().strip_prefix("q="))
      .filter_map(|v| v.trim().parse::<f32>().ok())
      .next_back()
      .unwrap_or(1.0);
    if q <= 0.0 {
      continue;
    }
    let better = match best {
      None => true,
      Some((bq, bf)) => q > bq || (q == bq && format.mime() < bf.mime()),
    };
    if better {
      best = Some((q, format));
    }
  }
  best.map(|(_, f)| f)
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
  use OutputFormat::{Avif, Webp};

  const CHROME: &str = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8";

  #[test]
  fn literal_names_only_and_avif_wins_ties() {
    assert_eq!(negotiate_format(CHROME, &[Webp]), Some(Webp));
    assert_eq!(negotiate_format(CHROME, &[Webp, Avif]), Some(Avif));
    assert_eq!(negotiate_format(CHROME, &[Avif, Webp]), Some(Avif));
    assert_eq!(negotiate_format("*/*", &[Webp, Avif]), None);
    assert_eq!(negotiate_format("image/*", &[Webp]), None);
    assert_eq!(negotiate_format("", &[Webp]), None);
  }

  #[test]
  fn q_values_decide_before_names() {
    assert_eq!(
      negotiate_format("image/avif;q=0.5, image/webp", &[Avif, Webp]),
      Some(Webp)
    );
    assert_eq!(
      negotiate_format("image/avif;q=0, image/webp;q=0.1", &[Avif, Webp]),
      Some(Webp)
    );
    assert_eq!(negotiate_format("IMAGE/WEBP", &[Webp]), Some(Webp));
  }
}
