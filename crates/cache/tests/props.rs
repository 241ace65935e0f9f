//! Model-based property tests: random op sequences against a reference model of Next 16's tag
//! semantics, checking byte accounting, exact values, TTL and freshness after every op.

use std::collections::HashMap;

use next_native_cache::{
  entry_charge, CacheConfig, Compression, EntryMeta, Freshness, SetOutcome, Store, TagState,
};
use proptest::prelude::*;

const KEYS: u8 = 12;
const TAGS: [&str; 5] = ["a", "b", "posts", "_N_T_/layout", "_N_T_/blog/page"];
const LZ4_MIN: usize = 1024;

#[derive(Debug, Clone)]
enum Op {
  Set {
    key: u8,
    len: usize,
    compressible: bool,
    tags: Vec<usize>,
    ttl_ms: Option<u64>,
    age_ms: u64,
  },
  Get {
    key: u8,
    extra: Vec<usize>,
  },
  Delete {
    key: u8,
  },
  Revalidate {
    tags: Vec<usize>,
    expire_secs: Option<u64>,
  },
  Advance {
    ms: u64,
  },
  Sweep,
  Clear,
}

fn op() -> impl Strategy<Value = Op> {
  let tags = prop::collection::vec(0..TAGS.len(), 0..3);
  let len = prop_oneof![8 => 0usize..3000, 1 => 9000usize..12000];
  prop_oneof![
    6 => (0..KEYS, len, any::<bool>(), tags.clone(), prop::option::of(0u64..5000), 0u64..200)
      .prop_map(|(key, len, compressible, tags, ttl_ms, age_ms)| Op::Set { key, len, compressible, tags, ttl_ms, age_ms }),
    6 => (0..KEYS, tags.clone()).prop_map(|(key, extra)| Op::Get { key, extra }),
    1 => (0..KEYS).prop_map(|key| Op::Delete { key }),
    2 => (tags, prop::option::of(0u64..4)).prop_map(|(tags, expire_secs)| Op::Revalidate { tags, expire_secs }),
    2 => (0u64..3000).prop_map(|ms| Op::Advance { ms }),
    1 => Just(Op::Sweep),
    1 => Just(Op::Clear),
  ]
}

fn key_bytes(k: u8) -> Vec<u8> {
  // Keys of different lengths, so key bytes matter in the accounting.
  format!("/route-cache/APP_PAGE/{}", "x".repeat(k as usize * 5)).into_bytes()
}

fn value(seed: u64, len: usize, compressible: bool) -> Vec<u8> {
  if compressible {
    let text = format!("<li class=\"item-{seed}\">entry {seed}</li>");
    text.bytes().cycle().take(len).collect()
  } else {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
      .map(|_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x as u8
      })
      .collect()
  }
}

/// The codec's keep rule, restated: compress from `LZ4_MIN` bytes, keep if it saves ≥ 1/16.
fn stored_len(v: &[u8], compression: bool) -> usize {
  if compression && v.len() >= LZ4_MIN {
    let packed = lz4_flex::block::compress(v).len();
    if packed <= v.len() - v.len() / 16 {
      return packed;
    }
  }
  v.len()
}

struct Model {
  now: u64,
  entries: HashMap<u8, (Vec<u8>, EntryMeta)>,
  tags: HashMap<&'static str, TagState>,
}

impl Model {
  fn state(&self, tag: &str) -> TagState {
    self.tags.get(tag).copied().unwrap_or_default()
  }

  /// Next 16.4.6 `areTagsExpired`.
  fn expired(&self, tags: &[&str], lm: u64) -> bool {
    tags
      .iter()
      .any(|t| matches!(self.state(t).expired_at_ms, Some(e) if e <= self.now && e > lm))
  }

  /// Next 16.4.6 `areTagsStale`.
  fn stale(&self, tags: &[&str], lm: u64) -> bool {
    tags
      .iter()
      .any(|t| self.state(t).stale_at_ms.unwrap_or(0) > lm)
  }

  fn dead(&self, meta: &EntryMeta) -> bool {
    let own: Vec<&str> = meta.tags.iter().map(String::as_str).collect();
    matches!(meta.expire_at_ms, Some(t) if self.now >= t)
      || self.expired(&own, meta.last_modified_ms)
  }
}

fn run(ops: Vec<Op>, roomy: bool, compression: bool) -> Result<(), TestCaseError> {
  let store = Store::new(CacheConfig {
    max_bytes: if roomy { 1 << 20 } else { 12 << 10 },
    compression: if compression {
      Compression::Lz4 { min_bytes: LZ4_MIN }
    } else {
      Compression::None
    },
    shards: if roomy { 4 } else { 1 },
    estimated_entry_bytes: 16 << 10,
    // The first op sweeps (an empty store), then only explicit `Sweep` ops do.
    sweep_interval_ms: u64::MAX,
  });
  let mut m = Model {
    now: 1_000,
    entries: HashMap::new(),
    tags: HashMap::new(),
  };
  for (seq, op) in ops.into_iter().enumerate() {
    match op {
      Op::Set {
        key,
        len,
        compressible,
        tags,
        ttl_ms,
        age_ms,
      } => {
        let v = value(seq as u64, len, compressible);
        let meta = EntryMeta {
          tags: tags.iter().map(|&i| TAGS[i].to_string()).collect(),
          last_modified_ms: m.now.saturating_sub(age_ms),
          expire_at_ms: ttl_ms.map(|t| m.now + t),
        };
        let k = key_bytes(key);
        let charge = entry_charge(k.len(), stored_len(&v, compression), &meta.tags);
        let outcome = store.set(&k, v.clone(), meta.clone(), m.now);
        if ttl_ms == Some(0) {
          prop_assert_eq!(outcome, SetOutcome::AlreadyExpired);
          m.entries.remove(&key);
        } else if charge > store.max_entry_bytes() {
          prop_assert_eq!(
            outcome,
            SetOutcome::TooLarge {
              size: charge,
              max: store.max_entry_bytes()
            }
          );
          m.entries.remove(&key);
        } else {
          prop_assert!(
            matches!(outcome, SetOutcome::Stored { .. }),
            "{:?}",
            outcome
          );
          if roomy {
            prop_assert_eq!(outcome, SetOutcome::Stored { evicted: 0 });
          }
          m.entries.insert(key, (v, meta));
        }
      }
      Op::Get { key, extra } => {
        let extra: Vec<&str> = extra.iter().map(|&i| TAGS[i]).collect();
        let got = store.get(&key_bytes(key), &extra, m.now);
        match m.entries.get(&key).cloned() {
          None => prop_assert!(got.is_none(), "deleted/rejected value came back"),
          Some((v, meta)) => {
            let own: Vec<&str> = meta.tags.iter().map(String::as_str).collect();
            if m.dead(&meta) {
              prop_assert!(got.is_none());
              m.entries.remove(&key);
            } else if m.expired(&extra, meta.last_modified_ms) {
              prop_assert!(got.is_none());
            } else if let Some(hit) = got {
              prop_assert_eq!(&*hit.value, &v[..]);
              prop_assert_eq!(hit.meta(), meta.clone());
              let stale =
                m.stale(&own, meta.last_modified_ms) || m.stale(&extra, meta.last_modified_ms);
              prop_assert_eq!(
                hit.freshness,
                if stale {
                  Freshness::Stale
                } else {
                  Freshness::Fresh
                }
              );
            } else {
              prop_assert!(!roomy, "live entry missing without budget pressure");
              m.entries.remove(&key);
            }
          }
        }
      }
      Op::Delete { key } => {
        let present = store.delete(&key_bytes(key));
        let modelled = m.entries.remove(&key).is_some();
        if roomy {
          prop_assert_eq!(present, modelled);
        } else {
          prop_assert!(!present || modelled);
        }
      }
      Op::Revalidate { tags, expire_secs } => {
        let tags: Vec<&'static str> = tags.iter().map(|&i| TAGS[i]).collect();
        store.revalidate_tags(&tags, m.now, expire_secs);
        for t in tags {
          let s = m.tags.entry(t).or_default();
          match expire_secs {
            None => s.expired_at_ms = Some(m.now),
            Some(secs) => {
              s.stale_at_ms = Some(m.now);
              s.expired_at_ms = Some(m.now + secs * 1000);
            }
          }
        }
      }
      Op::Advance { ms } => m.now += ms,
      Op::Sweep => {
        store.sweep(m.now);
        let dead: Vec<u8> = m
          .entries
          .iter()
          .filter(|(_, (_, meta))| m.dead(meta))
          .map(|(k, _)| *k)
          .collect();
        for k in dead {
          m.entries.remove(&k);
        }
      }
      Op::Clear => {
        store.clear();
        m.entries.clear();
      }
    }

    // Accounting: the total is exactly the sum of the live entries' charges, within budget,
    // and every live entry is charged what its last successful set implies.
    let mut sum = 0;
    let mut live = 0;
    for key in 0..KEYS {
      let k = key_bytes(key);
      if let Some(charge) = store.charge_of(&k) {
        let (v, meta) = m
          .entries
          .get(&key)
          .ok_or_else(|| TestCaseError::fail(format!("store holds key {key} the model dropped")))?;
        prop_assert_eq!(
          charge,
          entry_charge(k.len(), stored_len(v, compression), &meta.tags)
        );
        sum += charge;
        live += 1;
      } else if roomy {
        prop_assert!(!m.entries.contains_key(&key), "key {} vanished", key);
      } else {
        m.entries.remove(&key);
      }
    }
    prop_assert_eq!(store.bytes(), sum);
    prop_assert_eq!(store.len(), live);
    prop_assert!(store.bytes() <= store.capacity());
  }
  Ok(())
}

proptest! {
  #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

  #[test]
  fn roomy_store_matches_model(ops in prop::collection::vec(op(), 1..80), compression in any::<bool>()) {
    run(ops, true, compression)?;
  }

  #[test]
  fn tight_store_accounts_exactly_under_eviction(ops in prop::collection::vec(op(), 1..120), compression in any::<bool>()) {
    run(ops, false, compression)?;
  }

  #[test]
  fn get_after_set_returns_exact_bytes(
    v in prop::collection::vec(any::<u8>(), 0..20_000),
    repeat in 1usize..4,
    compression in any::<bool>(),
  ) {
    // `repeat` makes some inputs compressible.
    let v: Vec<u8> = v.iter().copied().cycle().take(v.len() * repeat).collect();
    let store = Store::new(CacheConfig {
      compression: if compression { Compression::Lz4 { min_bytes: 0 } } else { Compression::None },
      ..CacheConfig::new(1 << 20)
    });
    store.set(b"k", v.clone(), EntryMeta::default(), 0);
    prop_assert_eq!(&*store.get(b"k", &[], 0).unwrap().value, &v[..]);
  }
}
