//! Shared by the examples: a deterministic Zipf key stream with Next.js-like entry sizes.
#![allow(dead_code)]

/// splitmix64: tiny, deterministic, good enough for workload generation.
pub struct Rng(pub u64);

impl Rng {
  pub fn next_u64(&mut self) -> u64 {
    self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
    mix(self.0)
  }

  pub fn next_f64(&mut self) -> f64 {
    (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
  }

  pub fn below(&mut self, n: u64) -> u64 {
    self.next_u64() % n.max(1)
  }
}

pub fn mix(mut z: u64) -> u64 {
  z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
  z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
  z ^ (z >> 31)
}

pub struct Zipf {
  cdf: Vec<f64>,
}

impl Zipf {
  pub fn new(n: usize, s: f64) -> Zipf {
    let mut acc = 0.0;
    let mut cdf: Vec<f64> = (1..=n)
      .map(|k| {
        acc += 1.0 / (k as f64).powf(s);
        acc
      })
      .collect();
    for c in &mut cdf {
      *c /= acc;
    }
    Zipf { cdf }
  }

  pub fn sample(&self, rng: &mut Rng) -> usize {
    let u = rng.next_f64();
    self.cdf.partition_point(|&c| c < u).min(self.cdf.len() - 1)
  }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
  /// APP_PAGE: html + rscData (+ segmentData), ~70 KB.
  Page,
  /// FETCH: base64 body + headers, 2–5 KB.
  Fetch,
}

/// Entry shape of key id `id`: 25 % pages (40–100 KB, mean 70 KB), 75 % fetches (2–5 KB).
pub fn shape(id: u64) -> (Kind, usize) {
  let h = mix(id ^ 0xA5A5_5A5A);
  if h.is_multiple_of(4) {
    (Kind::Page, 40_000 + ((h >> 8) % 60_000) as usize)
  } else {
    (Kind::Fetch, 2_000 + ((h >> 8) % 3_000) as usize)
  }
}

/// Route-scoped key as Next 15.5.27+/16.3.8+ builds it for pages; a sha256-hex for fetches.
pub fn key(id: u64) -> Vec<u8> {
  let h = mix(id);
  match shape(id).0 {
    Kind::Page => format!(
      "/route-cache/APP_PAGE/{:016x}{:016x}{:016x}{:016x}/$/products/item-{id}",
      mix(h),
      mix(h + 1),
      mix(h + 2),
      mix(h + 3)
    )
    .into_bytes(),
    Kind::Fetch => format!(
      "{:016x}{:016x}{:016x}{:016x}",
      h,
      mix(h + 1),
      mix(h + 2),
      mix(h + 3)
    )
    .into_bytes(),
  }
}

/// Request stream of key ids. With `drift`, every `phase` requests 25 % of the ranks are
/// reassigned to brand-new ids (new articles becoming popular), which favours recency.
pub struct Stream {
  zipf: Zipf,
  rank_to_id: Vec<u64>,
  next_id: u64,
  rng: Rng,
  drift_phase: Option<u64>,
  n: u64,
}

impl Stream {
  pub fn new(universe: usize, s: f64, seed: u64, drift_phase: Option<u64>) -> Stream {
    let mut rng = Rng(seed);
    // Popularity is independent of id, so hot keys are a mix of pages and fetches.
    let mut rank_to_id: Vec<u64> = (0..universe as u64).collect();
    for i in (1..universe).rev() {
      let j = rng.below(i as u64 + 1) as usize;
      rank_to_id.swap(i, j);
    }
    Stream {
      zipf: Zipf::new(universe, s),
      rank_to_id,
      next_id: universe as u64,
      rng,
      drift_phase,
      n: 0,
    }
  }
}

impl Iterator for Stream {
  type Item = u64;

  fn next(&mut self) -> Option<u64> {
    self.n += 1;
    if let Some(phase) = self.drift_phase {
      if self.n.is_multiple_of(phase) {
        for slot in self.rank_to_id.iter_mut() {
          if self.rng.below(4) == 0 {
            *slot = self.next_id;
            self.next_id += 1;
          }
        }
      }
    }
    let rank = self.zipf.sample(&mut self.rng);
    Some(self.rank_to_id[rank])
  }
}
