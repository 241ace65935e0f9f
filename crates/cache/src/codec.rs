//! Optional LZ4 block compression of stored values.

use std::sync::Arc;

/// How values are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
  /// Store values as given; `get` hands back the stored allocation itself.
  None,
  /// LZ4-compress values of at least `min_bytes`; the compressed form is kept only when it saves
  /// at least 1/16 of the value (below that, paying a decompression on every hit is not worth it).
  Lz4 { min_bytes: usize },
}

/// A value as it sits in the cache.
pub(crate) struct Stored {
  pub(crate) bytes: Arc<[u8]>,
  /// `Some(original length)` when `bytes` is an LZ4 block.
  pub(crate) raw_len: Option<usize>,
}

pub(crate) fn encode(value: Vec<u8>, compression: Compression) -> Stored {
  if let Compression::Lz4 { min_bytes } = compression {
    if value.len() >= min_bytes.max(1) {
      let packed = lz4_flex::block::compress(&value);
      if packed.len() <= value.len() - value.len() / 16 {
        return Stored {
          bytes: Arc::from(packed),
          raw_len: Some(value.len()),
        };
      }
    }
  }
  Stored {
    bytes: Arc::from(value),
    raw_len: None,
  }
}

/// `None` only if the block is corrupt, which cannot happen for blocks we wrote; the caller
/// treats it as a miss rather than trusting the codec never to fail.
pub(crate) fn decode(stored: &Stored) -> Option<Arc<[u8]>> {
  let Some(raw_len) = stored.raw_len else {
    return Some(stored.bytes.clone());
  };
  // Decompress straight into the `Arc` allocation that JS will get, instead of into a Vec that
  // `Arc::from` would copy again.
  let mut out: Arc<[u8]> = std::iter::repeat_n(0u8, raw_len).collect();
  let buf = Arc::get_mut(&mut out)?;
  match lz4_flex::block::decompress_into(&stored.bytes, buf) {
    Ok(n) if n == raw_len => Some(out),
    _ => None,
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn compresses_only_when_it_pays() {
    let text = b"<div class=\"p-4\">hello</div>".repeat(200);
    let s = encode(text.clone(), Compression::Lz4 { min_bytes: 64 });
    assert_eq!(s.raw_len, Some(text.len()));
    assert!(s.bytes.len() < text.len() / 4);
    assert_eq!(&*decode(&s).unwrap(), &text[..]);

    // Incompressible bytes stay as they are.
    let mut x = 0x1234_5678_u32;
    let noise: Vec<u8> = (0..4096)
      .map(|_| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x as u8
      })
      .collect();
    let s = encode(noise.clone(), Compression::Lz4 { min_bytes: 64 });
    assert_eq!(s.raw_len, None);
    assert_eq!(&*s.bytes, &noise[..]);

    // Below the threshold nothing is tried.
    let s = encode(
      b"aaaaaaaaaaaaaaaa".to_vec(),
      Compression::Lz4 { min_bytes: 64 },
    );
    assert_eq!(s.raw_len, None);
  }

  #[test]
  fn empty_value_never_panics() {
    for c in [Compression::None, Compression::Lz4 { min_bytes: 0 }] {
      let s = encode(Vec::new(), c);
      assert_eq!(decode(&s).unwrap().len(), 0);
    }
  }

  #[test]
  fn corrupt_block_is_a_miss_not_a_panic() {
    let s = Stored {
      bytes: Arc::from(&[0xffu8, 0xff, 0xff, 0x00][..]),
      raw_len: Some(100),
    };
    assert!(decode(&s).is_none());
  }
}
