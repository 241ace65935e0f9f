//! Several threads hammer the same keys with get/set/delete/revalidate/sweep/clear. Invariants:
//! the total charge never exceeds the budget (checked by a watcher thread throughout), every hit
//! carries exactly the bytes and metadata of one single `set`, and at rest the total equals
//! the sum of the live entries' charges.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::thread;

use next_native_cache::{CacheConfig, Compression, EntryMeta, Store};
use proptest::prelude::*;

const KEYS: u64 = 16;
const THREADS: u64 = 4;
const OPS: u64 = 4_000;

struct Rng(u64);
impl Rng {
  fn next(&mut self) -> u64 {
    self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = self.0;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
  }
}

fn key(k: u64) -> Vec<u8> {
  format!("key-{k}-{}", "k".repeat(k as usize)).into_bytes()
}

/// `[key][writer][seq u32][len u32]` + a body that is a function of those, compressible or not.
fn value(k: u64, writer: u64, seq: u64, len: usize, compressible: bool) -> Vec<u8> {
  let mut v = Vec::with_capacity(len + 10);
  v.push(k as u8);
  v.push(writer as u8 | if compressible { 0x80 } else { 0 });
  v.extend_from_slice(&(seq as u32).to_le_bytes());
  v.extend_from_slice(&(len as u32).to_le_bytes());
  v.extend(body(k, writer, seq, len, compressible));
  v
}

fn body(k: u64, writer: u64, seq: u64, len: usize, compressible: bool) -> Vec<u8> {
  if compressible {
    format!("<p>{k}/{writer}/{seq}</p>")
      .bytes()
      .cycle()
      .take(len)
      .collect()
  } else {
    let mut r = Rng(k << 48 ^ writer << 32 ^ seq);
    (0..len).map(|_| r.next() as u8).collect()
  }
}

/// Checks a hit is exactly what one `set` wrote: header, body and the writer's identity tag.
fn verify(k: u64, value: &[u8], tags: &[&str]) -> Result<(), String> {
  if value.len() < 10 || value[0] as u64 != k {
    return Err(format!("key {k}: foreign or short value"));
  }
  let writer = (value[1] & 0x7f) as u64;
  let compressible = value[1] & 0x80 != 0;
  let seq = u32::from_le_bytes(value[2..6].try_into().unwrap()) as u64;
  let len = u32::from_le_bytes(value[6..10].try_into().unwrap()) as usize;
  if value[10..] != body(k, writer, seq, len, compressible)[..] {
    return Err(format!("key {k}: torn body"));
  }
  let id = format!("w{writer}-{seq}");
  if !tags.contains(&id.as_str()) {
    return Err(format!("key {k}: meta {tags:?} from another set than {id}"));
  }
  Ok(())
}

fn hammer(seed: u64, compression: bool) -> Result<(), String> {
  let store = Arc::new(Store::new(CacheConfig {
    compression: if compression {
      Compression::Lz4 { min_bytes: 512 }
    } else {
      Compression::None
    },
    shards: 2,
    estimated_entry_bytes: 1024,
    sweep_interval_ms: 50,
    ..CacheConfig::new(20 << 10)
  }));
  let clock = Arc::new(AtomicU64::new(1_000));
  let done = Arc::new(AtomicBool::new(false));

  let watcher = {
    let (store, done) = (store.clone(), done.clone());
    thread::spawn(move || {
      let mut checks = 0u64;
      while !done.load(Relaxed) {
        let bytes = store.bytes();
        if bytes > store.capacity() {
          return Err(format!("over budget: {bytes} > {}", store.capacity()));
        }
        checks += 1;
        thread::yield_now();
      }
      Ok(checks)
    })
  };

  let workers: Vec<_> = (0..THREADS)
    .map(|w| {
      let (store, clock) = (store.clone(), clock.clone());
      thread::spawn(move || -> Result<u64, String> {
        let mut r = Rng(seed ^ (w + 1).wrapping_mul(0xA24B_AED4_963E_E407));
        let mut hits = 0;
        for seq in 0..OPS {
          let now = clock.fetch_add(1 + r.next() % 3, Relaxed);
          let k = r.next() % KEYS;
          let shared = format!("t{}", k % 4);
          match r.next() % 100 {
            0..=39 => {
              let len = (r.next() % 6000) as usize;
              let meta = EntryMeta {
                tags: vec![format!("w{w}-{seq}"), shared],
                last_modified_ms: now,
                expire_at_ms: r.next().is_multiple_of(4).then(|| now + 1 + r.next() % 200),
              };
              store.set(
                &key(k),
                value(k, w, seq, len, r.next().is_multiple_of(2)),
                meta,
                now,
              );
            }
            40..=84 => {
              let extra = ["_N_T_/layout", "t0"];
              if let Some(hit) = store.get(&key(k), &extra[..(r.next() % 3) as usize], now) {
                let tags: Vec<&str> = hit.tags().collect();
                verify(k, &hit.value, &tags)?;
                hits += 1;
              }
            }
            85..=91 => {
              store.delete(&key(k));
            }
            92..=97 => {
              let expire = r.next().is_multiple_of(2).then_some(r.next() % 2);
              store.revalidate_tags(&[shared.as_str()], now, expire);
            }
            98 => {
              store.sweep(now);
            }
            _ => {
              if r.next().is_multiple_of(8) {
                store.clear();
              }
            }
          }
        }
        Ok(hits)
      })
    })
    .collect();

  let mut hits = 0;
  for w in workers {
    hits += w.join().map_err(|_| "worker panicked".to_string())??;
  }
  done.store(true, Relaxed);
  let checks = watcher
    .join()
    .map_err(|_| "watcher panicked".to_string())??;
  if hits == 0 || checks == 0 {
    return Err(format!("degenerate run: {hits} hits, {checks} checks"));
  }

  let sum: u64 = (0..KEYS).filter_map(|k| store.charge_of(&key(k))).sum();
  let live = (0..KEYS)
    .filter(|&k| store.charge_of(&key(k)).is_some())
    .count();
  if store.bytes() != sum || store.len() != live {
    return Err(format!(
      "at rest: bytes {} vs Σ charges {sum}, len {} vs {live}",
      store.bytes(),
      store.len()
    ));
  }
  let now = clock.load(Relaxed);
  for k in 0..KEYS {
    if let Some(hit) = store.get(&key(k), &[], now) {
      let tags: Vec<&str> = hit.tags().collect();
      verify(k, &hit.value, &tags)?;
    }
  }
  let st = store.stats();
  if st.evictions == 0 {
    return Err("no evictions: the budget is not under pressure".into());
  }
  Ok(())
}

proptest! {
  #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

  #[test]
  fn concurrent_ops_keep_invariants(seed in any::<u64>(), compression in any::<bool>()) {
    hammer(seed, compression).map_err(TestCaseError::fail)?;
  }
}
