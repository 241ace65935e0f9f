//! Standard base64 (RFC 4648, `+/`, `=` padding), for the blur placeholder's data URL. The
//! workspace's one base64 encoder: the cache crate's compression example compiles this file
//! into itself (`#[path]`) rather than keep a copy or take a dependency for a dozen lines.

/// Encodes `bytes`.
pub(crate) fn encode(bytes: &[u8]) -> String {
  const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
  for chunk in bytes.chunks(3) {
    let n = (u32::from(chunk[0]) << 16)
      | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
      | u32::from(*chunk.get(2).unwrap_or(&0));
    for i in 0..4 {
      if i <= chunk.len() {
        out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
      } else {
        out.push('=');
      }
    }
  }
  out
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn base64_matches_rfc4648() {
    assert_eq!(encode(b""), "");
    assert_eq!(encode(b"f"), "Zg==");
    assert_eq!(encode(b"fo"), "Zm8=");
    assert_eq!(encode(b"foobar"), "Zm9vYmFy");
  }
}
