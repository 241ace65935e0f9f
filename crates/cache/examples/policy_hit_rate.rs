//! Replays a Zipf key stream with Next.js-like entry sizes (APP_PAGE ~70 KB, FETCH 2–5 KB) against
//! byte-budgeted candidates and prints hit rates (cache-aside: miss → set).
//!
//! `cargo run --release -p next_native_cache --example policy_hit_rate`

#[path = "support/workload.rs"]
mod workload;

use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;
use std::time::Instant;

use next_native_cache::{entry_charge, CacheConfig, Compression, EntryMeta, Store};
use workload::{key, shape, Stream};

const UNIVERSE: usize = 200_000;
const REQUESTS: u64 = 2_500_000;
const WARMUP: u64 = 500_000;

trait Candidate {
  fn name(&self) -> String;
  fn get(&self, key: &[u8]) -> bool;
  fn set(&self, key: &[u8], id: u64, charge: u64);
}

type LruShard = Mutex<(lru::LruCache<Box<[u8]>, u64>, u64)>;

/// Byte-budgeted LRU per shard, evicting from the tail until the new entry fits: what Next's own
/// JS LRU does (with 1 shard).
struct ShardedLru {
  shards: Vec<LruShard>,
  shard_budget: u64,
  hasher: RandomState,
}

impl ShardedLru {
  fn new(budget: u64, shards: usize) -> Self {
    ShardedLru {
      shards: (0..shards)
        .map(|_| Mutex::new((lru::LruCache::unbounded(), 0)))
        .collect(),
      shard_budget: budget / shards as u64,
      hasher: RandomState::new(),
    }
  }

  fn shard(&self, key: &[u8]) -> &LruShard {
    &self.shards[self.hasher.hash_one(key) as usize % self.shards.len()]
  }
}

impl Candidate for ShardedLru {
  fn name(&self) -> String {
    format!("LRU ×{}", self.shards.len())
  }

  fn get(&self, key: &[u8]) -> bool {
    self.shard(key).lock().unwrap().0.get(key).is_some()
  }

  fn set(&self, key: &[u8], _id: u64, charge: u64) {
    if charge > self.shard_budget {
      return;
    }
    let mut guard = self.shard(key).lock().unwrap();
    let (lru, bytes) = &mut *guard;
    if let Some(old) = lru.pop(key) {
      *bytes -= old;
    }
    while *bytes + charge > self.shard_budget {
      let (_, c) = lru.pop_lru().unwrap();
      *bytes -= c;
    }
    lru.put(key.into(), charge);
    *bytes += charge;
  }
}

#[derive(Clone)]
struct W;
impl quick_cache::Weighter<Box<[u8]>, u64> for W {
  fn weight(&self, _: &Box<[u8]>, v: &u64) -> u64 {
    *v
  }
}

struct S3Fifo(quick_cache::sync::Cache<Box<[u8]>, u64, W>, usize);

impl S3Fifo {
  fn new(budget: u64, shards: usize) -> Self {
    let opts = quick_cache::OptionsBuilder::new()
      .shards(shards)
      .weight_capacity(budget)
      .estimated_items_capacity((budget / (16 << 10)) as usize)
      .build()
      .unwrap();
    let c = quick_cache::sync::Cache::with_options(opts, W, Default::default(), Default::default());
    let n = c.num_shards();
    S3Fifo(c, n)
  }
}

impl Candidate for S3Fifo {
  fn name(&self) -> String {
    format!("quick_cache S3-FIFO ×{}", self.1)
  }
  fn get(&self, key: &[u8]) -> bool {
    self.0.get(key).is_some()
  }
  fn set(&self, key: &[u8], _id: u64, charge: u64) {
    self.0.insert(key.into(), charge);
  }
}

struct TinyLfu(moka::sync::Cache<Box<[u8]>, u64>, std::cell::Cell<u64>);

impl TinyLfu {
  fn new(budget: u64) -> Self {
    TinyLfu(
      moka::sync::Cache::builder()
        .max_capacity(budget)
        .weigher(|_, v: &u64| (*v).min(u32::MAX as u64) as u32)
        .build(),
      Default::default(),
    )
  }
}

impl Candidate for TinyLfu {
  fn name(&self) -> String {
    "moka TinyLFU".into()
  }
  fn get(&self, key: &[u8]) -> bool {
    self.0.get(key).is_some()
  }
  fn set(&self, key: &[u8], _id: u64, charge: u64) {
    self.0.insert(key.into(), charge);
    // moka applies admission/eviction in batches; keep it close to the budget.
    self.1.set(self.1.get() + 1);
    if self.1.get().is_multiple_of(64) {
      self.0.run_pending_tasks();
    }
  }
}

/// The real store through its public API, real value bytes, compression off (policy only).
struct RealStore(Store);

impl Candidate for RealStore {
  fn name(&self) -> String {
    format!("Store (S3-FIFO ×{}, real bytes)", self.0.shards())
  }
  fn get(&self, key: &[u8]) -> bool {
    self.0.get(key, &[], 1).is_some()
  }
  fn set(&self, key: &[u8], id: u64, _charge: u64) {
    let meta = EntryMeta {
      tags: vec![],
      last_modified_ms: 1,
      expire_at_ms: None,
    };
    self.0.set(key, vec![id as u8; shape(id).1], meta, 1);
  }
}

fn run(c: &dyn Candidate, s: f64, drift: Option<u64>) -> (f64, f64, f64) {
  let mut hits = 0u64;
  let mut byte_hits = 0u64;
  let mut total_bytes = 0u64;
  let start = Instant::now();
  for (i, id) in Stream::new(UNIVERSE, s, 42, drift)
    .take(REQUESTS as usize)
    .enumerate()
  {
    let k = key(id);
    let size = shape(id).1 as u64;
    let hit = c.get(&k);
    if !hit {
      c.set(&k, id, entry_charge::<&str>(k.len(), size as usize, &[]));
    }
    if i as u64 >= WARMUP {
      total_bytes += size;
      if hit {
        hits += 1;
        byte_hits += size;
      }
    }
  }
  let measured = (REQUESTS - WARMUP) as f64;
  (
    100.0 * hits as f64 / measured,
    100.0 * byte_hits as f64 / total_bytes as f64,
    REQUESTS as f64 / start.elapsed().as_secs_f64() / 1e6,
  )
}

fn main() {
  println!(
    "universe {UNIVERSE} keys (25 % APP_PAGE 40–100 KB, 75 % FETCH 2–5 KB), {REQUESTS} requests, \
     hit rate over the last {} (request % / byte %), Mops/s single thread",
    REQUESTS - WARMUP
  );
  for (label, drift) in [("static", None), ("drift", Some(100_000))] {
    for s in [0.8, 1.0] {
      for budget_mib in [16u64, 64, 256] {
        let budget = budget_mib << 20;
        println!("\n### Zipf s={s}, {label}, budget {budget_mib} MiB\n");
        println!("| candidate | hit % | byte hit % | Mops/s |\n|---|---|---|---|");
        let store_cfg = CacheConfig {
          compression: Compression::None,
          ..CacheConfig::new(budget)
        };
        let candidates: Vec<Box<dyn Candidate>> = vec![
          Box::new(ShardedLru::new(budget, 1)),
          Box::new(ShardedLru::new(budget, 8)),
          Box::new(S3Fifo::new(budget, 1)),
          Box::new(S3Fifo::new(budget, 8)),
          Box::new(TinyLfu::new(budget)),
          Box::new(RealStore(Store::new(store_cfg))),
        ];
        for c in &candidates {
          let (hit, byte_hit, mops) = run(c.as_ref(), s, drift);
          println!("| {} | {hit:.1} | {byte_hit:.1} | {mops:.2} |", c.name());
        }
      }
    }
  }
}
