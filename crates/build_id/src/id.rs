//! Rendering a digest as an ID.
//!
//! Base32 over the alphabet `23456789bcefghijklmnopqrstuvwxyz`: lowercase (S3 keys, next.js
//! #12087), no `0/1` look-alikes, and no `a` or `d`, so no ID can contain `ad` — Next's own
//! nanoid fallback retries until `!/ad/i.test(id)` because ad blockers drop URLs like
//! `/_next/static/<id>/…` (next.js PRs #6851, #6854). We get that by construction instead.

use crate::Sha256;

/// The 32 symbols, in value order.
pub const ID_ALPHABET: &[u8; 32] = b"23456789bcefghijklmnopqrstuvwxyz";

/// `build_id` length: 26 symbols = 130 bits of the digest.
pub const BUILD_ID_LEN: usize = 26;

/// `deployment_id` length: 32 symbols = 160 bits, the cap Next's canary
/// `generate-deployment-id.ts` put on `deploymentId` (16.4.6 has no cap); every symbol is in
/// the `[a-zA-Z0-9_-]` that 16.4.6 `next/dist/build/index.js` requires.
pub const DEPLOYMENT_ID_LEN: usize = 32;

/// The first `len` base32 symbols of `digest`, most significant bit first (RFC 4648 bit order,
/// our alphabet). `len` ≤ 51 (256 bits / 5).
pub(crate) fn render(digest: &Sha256, len: usize) -> String {
  assert!(
    len * 5 <= 256,
    "a SHA-256 digest has only 51 base32 symbols"
  );
  let mut out = String::with_capacity(len);
  let mut acc: u32 = 0;
  let mut bits = 0u32;
  let mut bytes = digest.0.iter();
  while out.len() < len {
    if bits < 5 {
      // `len * 5 <= 256` guarantees a byte is left whenever we need one.
      acc = (acc << 8) | u32::from(*bytes.next().expect("enough digest bits"));
      bits += 8;
    }
    bits -= 5;
    out.push(ID_ALPHABET[((acc >> bits) & 31) as usize] as char);
    acc &= (1 << bits) - 1;
  }
  out
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn alphabet_is_32_distinct_url_safe_symbols_without_a_or_d() {
    let mut seen = std::collections::HashSet::new();
    for &c in ID_ALPHABET {
      assert!(c.is_ascii_digit() || c.is_ascii_lowercase());
      assert!(c != b'a' && c != b'd');
      assert!(seen.insert(c));
    }
  }

  #[test]
  fn renders_bits_msb_first() {
    // 0x00… → all '2' (value 0); 0xff… → all 'z' (value 31).
    assert_eq!(render(&Sha256([0; 32]), 26), "2".repeat(26));
    assert_eq!(render(&Sha256([0xff; 32]), 32), "z".repeat(32));
    // 0b00001_00010_00011_0… = 0x08 0x86 …: symbols 1, 2, 3 → '3', '4', '5'.
    let mut d = [0u8; 32];
    d[0] = 0b0000_1000;
    d[1] = 0b1000_0110;
    assert_eq!(&render(&Sha256(d), 4), "3452");
    // The longest rendering uses all 255 leading bits without running out.
    assert_eq!(render(&Sha256([0xff; 32]), 51).len(), 51);
  }

  #[test]
  fn shorter_ids_are_prefixes_of_longer_ones() {
    let d = Sha256::of(b"prefix");
    assert!(render(&d, DEPLOYMENT_ID_LEN).starts_with(&render(&d, BUILD_ID_LEN)));
  }
}
