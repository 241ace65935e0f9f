//! What LZ4 buys on Next.js-like payloads: stored size, entries per MiB, codec speed, and the hit
//! rate of the real store at equal memory with compression on vs off on the Zipf workload.
//!
//! `cargo run --release -p next_native_cache --example compression_density`

#[path = "support/payload.rs"]
mod payload;
#[path = "support/workload.rs"]
mod workload;

use std::time::Instant;

use next_native_cache::{entry_charge, CacheConfig, Compression, EntryMeta, Store};
use workload::{key, mix, shape, Kind, Stream};

const UNIVERSE: usize = 200_000;
const REQUESTS: u64 = 1_000_000;
const WARMUP: u64 = 200_000;

fn meta() -> EntryMeta {
  EntryMeta {
    tags: vec![
      "_N_T_/layout".into(),
      "_N_T_/products/page".into(),
      "products".into(),
    ],
    last_modified_ms: 1,
    expire_at_ms: None,
  }
}

struct Pools {
  pages: Vec<Vec<u8>>,
  fetch_b64: Vec<Vec<u8>>,
  fetch_raw: Vec<Vec<u8>>,
}

fn pools() -> Pools {
  Pools {
    pages: (0..64)
      .map(|i| payload::app_page(i, 12 + (i as usize * 7) % 20))
      .collect(),
    fetch_b64: (0..256)
      .map(|i| payload::fetch(1000 + i, 4 + (i as usize % 7), true))
      .collect(),
    fetch_raw: (0..256)
      .map(|i| payload::fetch(1000 + i, 4 + (i as usize % 7), false))
      .collect(),
  }
}

fn mean(v: impl Iterator<Item = f64>) -> f64 {
  let (s, n) = v.fold((0.0, 0.0), |(s, n), x| (s + x, n + 1.0));
  s / n
}

/// Mean stored charge (key of `key_len`, default tags) per entry under `compression`.
fn mean_charge(pool: &[Vec<u8>], key_len: usize, compression: Compression) -> f64 {
  let store = Store::new(CacheConfig {
    compression,
    ..CacheConfig::new(1 << 30)
  });
  mean(pool.iter().enumerate().map(|(i, v)| {
    let k = format!("{i:0width$}", width = key_len);
    store.set(k.as_bytes(), v.clone(), meta(), 1);
    store.charge_of(k.as_bytes()).unwrap() as f64
  }))
}

fn codec_speed(pool: &[Vec<u8>]) -> (f64, f64, f64) {
  let total: usize = pool.iter().map(Vec::len).sum();
  let rounds = (200 << 20) / total.max(1) + 1;
  let start = Instant::now();
  let mut packed = Vec::new();
  for _ in 0..rounds {
    packed = pool
      .iter()
      .map(|v| lz4_flex::block::compress(v))
      .collect::<Vec<_>>();
  }
  let c = (total * rounds) as f64 / start.elapsed().as_secs_f64() / 1e6;
  let start = Instant::now();
  for _ in 0..rounds {
    for (p, v) in packed.iter().zip(pool) {
      std::hint::black_box(lz4_flex::block::decompress(p, v.len()).unwrap());
    }
  }
  let d = (total * rounds) as f64 / start.elapsed().as_secs_f64() / 1e6;
  let ratio = total as f64 / packed.iter().map(Vec::len).sum::<usize>() as f64;
  (ratio, c, d)
}

fn hit_rate(pools: &Pools, budget: u64, s: f64, compression: Compression) -> (f64, f64, u64) {
  let store = Store::new(CacheConfig {
    compression,
    ..CacheConfig::new(budget)
  });
  let mut hits = 0u64;
  let start = Instant::now();
  for (i, id) in Stream::new(UNIVERSE, s, 42, None)
    .take(REQUESTS as usize)
    .enumerate()
  {
    let k = key(id);
    let hit = store.get(&k, &[], 1).is_some();
    if !hit {
      let pool = match shape(id).0 {
        Kind::Page => &pools.pages,
        Kind::Fetch => &pools.fetch_b64,
      };
      let value = pool[(mix(id) % pool.len() as u64) as usize].clone();
      store.set(&k, value, meta(), 1);
    }
    if i as u64 >= WARMUP && hit {
      hits += 1;
    }
  }
  (
    100.0 * hits as f64 / (REQUESTS - WARMUP) as f64,
    REQUESTS as f64 / start.elapsed().as_secs_f64() / 1e6,
    store.len() as u64,
  )
}

fn main() {
  let pools = pools();
  let lz4 = Compression::Lz4 { min_bytes: 1024 };
  let kinds: [(&str, &Vec<Vec<u8>>, usize); 3] = [
    ("APP_PAGE (html + rscData + segment)", &pools.pages, 110),
    (
      "FETCH, body base64 (as Next passes it)",
      &pools.fetch_b64,
      64,
    ),
    ("FETCH, body decoded by the adapter", &pools.fetch_raw, 64),
  ];
  println!("## Payloads\n");
  println!("| payload | mean raw | LZ4 ratio | compress MB/s | decompress MB/s | charge off | charge on | entries/MiB off | on | gain |");
  println!("|---|---|---|---|---|---|---|---|---|---|");
  for (name, pool, key_len) in kinds {
    let raw = mean(pool.iter().map(|v| v.len() as f64));
    let (ratio, c, d) = codec_speed(pool);
    let off = mean_charge(pool, key_len, Compression::None);
    let on = mean_charge(pool, key_len, lz4);
    let mib = (1 << 20) as f64;
    println!(
      "| {name} | {raw:.0} B | {ratio:.2}× | {c:.0} | {d:.0} | {off:.0} B | {on:.0} B | {:.1} | {:.1} | {:+.0} % |",
      mib / off,
      mib / on,
      100.0 * (off / on - 1.0)
    );
  }
  // The mix the hit-rate run uses: 25 % pages, 75 % base64 fetches.
  let off = 0.25 * mean_charge(&pools.pages, 110, Compression::None)
    + 0.75 * mean_charge(&pools.fetch_b64, 64, Compression::None);
  let on =
    0.25 * mean_charge(&pools.pages, 110, lz4) + 0.75 * mean_charge(&pools.fetch_b64, 64, lz4);
  println!(
    "\nmix 25 % APP_PAGE / 75 % FETCH(base64): {:.1} → {:.1} entries/MiB ({:+.0} %)",
    (1 << 20) as f64 / off,
    (1 << 20) as f64 / on,
    100.0 * (off / on - 1.0)
  );

  println!("\n## Threshold (FETCH base64)\n\n| min_bytes | charge |\n|---|---|");
  for min_bytes in [256usize, 1024, 4096, 8192] {
    let c = mean_charge(&pools.fetch_b64, 64, Compression::Lz4 { min_bytes });
    println!("| {min_bytes} | {c:.0} B |");
  }

  println!(
    "\n## Hit rate at equal memory (Zipf, {UNIVERSE} keys, {REQUESTS} requests, last {} measured)\n",
    REQUESTS - WARMUP
  );
  println!("| s | budget | hit % off | hit % LZ4 | entries off | entries LZ4 | Mops/s off | Mops/s LZ4 |\n|---|---|---|---|---|---|---|---|");
  for s in [0.8, 1.0] {
    for budget_mib in [64u64, 256] {
      let (h0, t0, n0) = hit_rate(&pools, budget_mib << 20, s, Compression::None);
      let (h1, t1, n1) = hit_rate(&pools, budget_mib << 20, s, lz4);
      println!("| {s} | {budget_mib} MiB | {h0:.1} | {h1:.1} | {n0} | {n1} | {t0:.2} | {t1:.2} |");
    }
  }
  let _ = entry_charge::<&str>;

  println!(
    "\n## Hit latency, one APP_PAGE of {} B\n\n| storage | ns per get |\n|---|---|",
    pools.pages[0].len()
  );
  for (name, c) in [("uncompressed", Compression::None), ("LZ4", lz4)] {
    let store = Store::new(CacheConfig {
      compression: c,
      ..CacheConfig::new(1 << 30)
    });
    store.set(b"page", pools.pages[0].clone(), meta(), 1);
    let n = 20_000;
    let start = Instant::now();
    for _ in 0..n {
      std::hint::black_box(store.get(b"page", &[], 1).unwrap());
    }
    println!(
      "| {name} | {:.0} |",
      start.elapsed().as_nanos() as f64 / n as f64
    );
  }
}
