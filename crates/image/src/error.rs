use std::fmt;

/// Why an image could not be read or written. Each variant has a stable [`ImageError::code`]
/// for the binding layer; the message names the problem (format, sizes, limit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageError {
  /// Zero-byte input.
  Empty,
  /// The bytes are not an image we read: unknown magic bytes, or a known format we refuse
  /// (SVG, ICO, PDF, AVIF input, ...). `what` names it.
  UnsupportedFormat { what: String },
  /// The header claims more pixels than the limit (sharp's `limitInputPixels`). Raised from the
  /// header, before any pixel buffer is allocated.
  TooManyPixels { width: u64, height: u64, limit: u64 },
  /// The format was recognised but the data is truncated or corrupt.
  Decode {
    format: &'static str,
    reason: String,
  },
  /// Bad [`crate::OptimizeOptions`] (width 0, quality outside 1–100).
  InvalidOptions(String),
  /// An encoder failed on valid pixels (should not happen; kept distinct from decode errors).
  Encode {
    format: &'static str,
    reason: String,
  },
}

impl ImageError {
  /// Stable machine-readable code, e.g. `IMAGE_DECODE`.
  pub fn code(&self) -> &'static str {
    match self {
      ImageError::Empty => "IMAGE_EMPTY",
      ImageError::UnsupportedFormat { .. } => "IMAGE_UNSUPPORTED_FORMAT",
      ImageError::TooManyPixels { .. } => "IMAGE_TOO_MANY_PIXELS",
      ImageError::Decode { .. } => "IMAGE_DECODE",
      ImageError::InvalidOptions(_) => "IMAGE_INVALID_OPTIONS",
      ImageError::Encode { .. } => "IMAGE_ENCODE",
    }
  }

  pub(crate) fn decode(format: &'static str, reason: impl fmt::Display) -> Self {
    ImageError::Decode {
      format,
      reason: reason.to_string(),
    }
  }

  pub(crate) fn encode(format: &'static str, reason: impl fmt::Display) -> Self {
    ImageError::Encode {
      format,
      reason: reason.to_string(),
    }
  }
}

impl fmt::Display for ImageError {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match self {
      ImageError::Empty => write!(f, "input is empty (0 bytes), not an image"),
      ImageError::UnsupportedFormat { what } => write!(f, "unsupported image format: {what}"),
      ImageError::TooManyPixels {
        width,
        height,
        limit,
      } => write!(
        f,
        "input image {width}x{height} has {} pixels, more than the limit of {limit}",
        width * height
      ),
      ImageError::Decode { format, reason } => {
        write!(f, "{format} image is corrupt or truncated: {reason}")
      }
      ImageError::InvalidOptions(msg) => write!(f, "invalid options: {msg}"),
      ImageError::Encode { format, reason } => write!(f, "{format} encoding failed: {reason}"),
    }
  }
}

impl std::error::Error for ImageError {}
