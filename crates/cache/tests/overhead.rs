//! Checks `ENTRY_OVERHEAD_BYTES` against real heap use: a counting allocator measures what a
//! store full of small entries (where the fixed overhead dominates) really holds.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicI64, Ordering::Relaxed};

use next_native_cache::{CacheConfig, Compression, EntryMeta, Store, ENTRY_OVERHEAD_BYTES};

struct Counting;

static LIVE_BYTES: AtomicI64 = AtomicI64::new(0);
static LIVE_ALLOCS: AtomicI64 = AtomicI64::new(0);

unsafe impl GlobalAlloc for Counting {
  unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
    LIVE_BYTES.fetch_add(layout.size() as i64, Relaxed);
    LIVE_ALLOCS.fetch_add(1, Relaxed);
    unsafe { System.alloc(layout) }
  }

  unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
    LIVE_BYTES.fetch_sub(layout.size() as i64, Relaxed);
    LIVE_ALLOCS.fetch_sub(1, Relaxed);
    unsafe { System.dealloc(ptr, layout) }
  }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The counters are process-wide: the tests in this file must not overlap.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// glibc malloc: 8 bytes of header per chunk, chunks rounded up to 16 with a 32-byte minimum.
fn malloc_footprint(bytes: i64, allocs: i64) -> i64 {
  bytes + allocs * 16
}

#[test]
fn real_heap_per_entry_stays_within_the_charge() {
  let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
  // Small entries, so the fixed overhead dominates; the default `estimated_entry_bytes` (16 KiB)
  // is far off for them, which is the worst case for quick_cache's table sizing.
  for n in [1_000u64, 20_000] {
    let store = Store::new(CacheConfig {
      compression: Compression::None,
      shards: 4,
      ..CacheConfig::new(1 << 30)
    });
    let keys: Vec<Vec<u8>> = (0..n).map(|i| format!("{i:016x}").into_bytes()).collect();
    let (b0, a0) = (LIVE_BYTES.load(Relaxed), LIVE_ALLOCS.load(Relaxed));
    for (i, k) in keys.iter().enumerate() {
      let meta = EntryMeta {
        tags: vec!["_N_T_/layout".into(), format!("t{i}")],
        last_modified_ms: 1,
        expire_at_ms: None,
      };
      store.set(k, vec![1; 8], meta, 1);
    }
    let real = malloc_footprint(
      LIVE_BYTES.load(Relaxed) - b0,
      LIVE_ALLOCS.load(Relaxed) - a0,
    ) as u64;
    assert_eq!(store.len() as u64, n);
    let charged = store.bytes();
    let payload: u64 = keys.iter().map(|k| k.len() as u64 + 8).sum::<u64>()
      + n * 12
      + (0..n).map(|i| format!("t{i}").len() as u64).sum::<u64>();
    eprintln!(
      "n={n}: real {} B/entry, charged {} B/entry, real overhead {} B/entry (constant {ENTRY_OVERHEAD_BYTES})",
      real / n,
      charged / n,
      (real - payload) / n
    );
    assert!(
      real <= charged,
      "real {real} > charged {charged} for {n} entries"
    );
  }
}

#[test]
fn full_store_with_ghosts_stays_within_the_budget() {
  let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
  // Churn through 10x the budget so quick_cache's ghost queue (recently evicted keys) is full,
  // and count everything from before `Store::new`, preallocated tables included.
  let (b0, a0) = (LIVE_BYTES.load(Relaxed), LIVE_ALLOCS.load(Relaxed));
  let store = Store::new(CacheConfig {
    compression: Compression::None,
    shards: 2,
    estimated_entry_bytes: 512,
    ..CacheConfig::new(8 << 20)
  });
  for i in 0..200_000u64 {
    let meta = EntryMeta {
      tags: vec![format!("t{}", i % 100)],
      last_modified_ms: 1,
      expire_at_ms: None,
    };
    store.set(format!("{i:016x}").as_bytes(), vec![1; 64], meta, 1);
  }
  let real = malloc_footprint(
    LIVE_BYTES.load(Relaxed) - b0,
    LIVE_ALLOCS.load(Relaxed) - a0,
  ) as u64;
  eprintln!(
    "full: real {real} B, charged {} B, capacity {} B, {} entries",
    store.bytes(),
    store.capacity(),
    store.len()
  );
  assert!(store.stats().evictions > 0);
  assert!(real <= store.capacity(), "real {real} > capacity");
}
