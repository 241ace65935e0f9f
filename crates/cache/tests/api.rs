//! The public API, one behaviour per test.

use std::sync::Arc;

use next_native_cache::{
  entry_charge, CacheConfig, Compression, EntryMeta, Freshness, SetOutcome, Stats, Store, TagState,
  ENTRY_OVERHEAD_BYTES,
};

fn store(max_bytes: u64) -> Store {
  Store::new(CacheConfig::new(max_bytes))
}

fn meta(tags: &[&str], lm: u64) -> EntryMeta {
  EntryMeta {
    tags: tags.iter().map(|t| t.to_string()).collect(),
    last_modified_ms: lm,
    expire_at_ms: None,
  }
}

fn html(n: usize) -> Vec<u8> {
  "<div class=\"grid grid-cols-4 gap-4\"><p>hello world</p></div>"
    .repeat(n)
    .into_bytes()
}

#[test]
fn store_is_send_and_sync() {
  fn check<T: Send + Sync + 'static>() {}
  check::<Store>();
  check::<next_native_cache::Hit>();
}

#[test]
fn uncompressed_get_shares_the_stored_allocation() {
  let s = Store::new(CacheConfig {
    compression: Compression::None,
    ..CacheConfig::new(1 << 20)
  });
  s.set(b"k", html(100), meta(&[], 1), 1);
  let a = s.get(b"k", &[], 1).unwrap();
  let b = s.get(b"k", &[], 1).unwrap();
  assert!(
    Arc::ptr_eq(&a.value, &b.value),
    "a get must not copy the stored bytes"
  );
  assert_eq!(&*a.value, &html(100)[..]);
  assert!(!a.is_compressed());
}

#[test]
fn compressed_round_trip_is_exact_and_charged_at_stored_size() {
  let s = store(1 << 20);
  let value = html(200);
  s.set(b"k", value.clone(), meta(&["t"], 1), 1);
  let hit = s.get(b"k", &[], 1).unwrap();
  assert!(hit.is_compressed());
  assert_eq!(&*hit.value, &value[..]);
  let packed = lz4_flex::block::compress(&value).len();
  assert_eq!(hit.charge(), entry_charge(1, packed, &["t"]));
  assert!(hit.charge() < entry_charge(1, value.len(), &["t"]) / 4);
}

#[test]
fn meta_is_returned() {
  let s = store(1 << 20);
  let m = EntryMeta {
    tags: vec!["a".into(), "".into(), "_N_T_/blog/[slug]/page".into()],
    last_modified_ms: 42,
    expire_at_ms: Some(1000),
  };
  s.set(b"k", vec![1, 2, 3], m.clone(), 50);
  let hit = s.get(b"k", &[], 50).unwrap();
  assert_eq!(hit.meta(), m);
  assert_eq!(hit.last_modified_ms(), 42);
  assert_eq!(hit.expire_at_ms(), Some(1000));
  assert_eq!(
    hit.tags().collect::<Vec<_>>(),
    ["a", "", "_N_T_/blog/[slug]/page"]
  );
}

#[test]
fn ttl_expires_at_expire_at_and_removes_the_entry() {
  let s = store(1 << 20);
  let m = EntryMeta {
    expire_at_ms: Some(100),
    ..meta(&[], 1)
  };
  s.set(b"k", vec![1], m, 10);
  assert!(s.get(b"k", &[], 99).is_some());
  assert!(s.get(b"k", &[], 100).is_none());
  assert_eq!(s.len(), 0, "expired entries are removed on access");
  let st = s.stats();
  assert_eq!((st.hits, st.misses, st.expirations), (1, 1, 1));
}

#[test]
fn setting_an_already_expired_entry_stores_nothing_and_drops_the_old_value() {
  let s = store(1 << 20);
  s.set(b"k", vec![1], meta(&[], 1), 10);
  let m = EntryMeta {
    expire_at_ms: Some(10),
    ..meta(&[], 10)
  };
  assert_eq!(s.set(b"k", vec![2], m, 10), SetOutcome::AlreadyExpired);
  assert!(s.get(b"k", &[], 10).is_none());
}

#[test]
fn immediate_revalidation_expires_older_entries_only() {
  let s = store(1 << 20);
  s.set(b"old", vec![1], meta(&["posts"], 100), 100);
  s.set(b"same_ms", vec![2], meta(&["posts"], 200), 200);
  s.set(b"other", vec![3], meta(&["users"], 100), 100);
  s.revalidate_tags(&["posts"], 200, None);
  assert!(s.get(b"old", &[], 200).is_none());
  // Next 16.4.6 `areTagsExpired` is strict: `expired > lastModified`.
  assert_eq!(
    s.get(b"same_ms", &[], 200).unwrap().freshness,
    Freshness::Fresh
  );
  assert_eq!(
    s.get(b"other", &[], 200).unwrap().freshness,
    Freshness::Fresh
  );
  // A write after the revalidation is fresh.
  s.set(b"old", vec![4], meta(&["posts"], 201), 201);
  assert_eq!(s.get(b"old", &[], 300).unwrap().freshness, Freshness::Fresh);
}

#[test]
fn profile_revalidation_is_stale_until_expire_then_expired() {
  let s = store(1 << 20);
  s.set(b"k", vec![1], meta(&["posts"], 100), 100);
  // revalidateTag('posts', { expire: 60 })
  s.revalidate_tags(&["posts"], 1_000, Some(60));
  let hit = s.get(b"k", &[], 1_000).unwrap();
  assert_eq!(hit.freshness, Freshness::Stale);
  assert_eq!(&*hit.value, &[1]);
  assert_eq!(
    s.get(b"k", &[], 60_999).unwrap().freshness,
    Freshness::Stale
  );
  assert!(s.get(b"k", &[], 61_000).is_none());
  assert_eq!(s.stats().stale_hits, 2);
}

#[test]
fn revalidation_before_last_modified_does_not_count() {
  let s = store(1 << 20);
  s.revalidate_tags(&["a"], 100, None);
  s.revalidate_tags(&["b"], 100, Some(3600));
  s.set(b"k", vec![1], meta(&["a", "b"], 150), 150);
  assert_eq!(s.get(b"k", &[], 200).unwrap().freshness, Freshness::Fresh);
}

#[test]
fn extra_tags_count_like_own_tags_but_only_for_that_caller() {
  let s = store(1 << 20);
  s.set(b"fetch", vec![1], meta(&["products"], 100), 100);
  s.revalidate_tags(&["_N_T_/shop"], 150, Some(60));
  s.revalidate_tags(&["_N_T_/blog/layout"], 160, None);
  assert_eq!(
    s.get(b"fetch", &[], 200).unwrap().freshness,
    Freshness::Fresh
  );
  assert_eq!(
    s.get(b"fetch", &["_N_T_/shop"], 200).unwrap().freshness,
    Freshness::Stale
  );
  assert!(s
    .get(b"fetch", &["_N_T_/layout", "_N_T_/blog/layout"], 200)
    .is_none());
  // Another page's request (other soft tags) still gets it.
  assert!(s.get(b"fetch", &["_N_T_/layout"], 200).is_some());
}

#[test]
fn expired_own_tag_beats_stale_and_removes() {
  let s = store(1 << 20);
  s.set(b"k", vec![1], meta(&["a", "b"], 100), 100);
  s.revalidate_tags(&["a"], 150, Some(3600));
  s.revalidate_tags(&["b"], 160, None);
  assert!(s.get(b"k", &[], 200).is_none());
  assert_eq!(s.len(), 0);
  assert_eq!(s.stats().expirations, 1);
}

#[test]
fn tag_states_expiration_and_merge() {
  let s = store(1 << 20);
  s.revalidate_tags(&["a"], 100, None);
  s.revalidate_tags(&["b"], 200, Some(10));
  assert_eq!(
    s.tag_states(&["a", "b", "c"]),
    vec![
      Some(TagState {
        stale_at_ms: None,
        expired_at_ms: Some(100)
      }),
      Some(TagState {
        stale_at_ms: Some(200),
        expired_at_ms: Some(10_200)
      }),
      None
    ]
  );
  // Next 16 getExpiration: max `expired`.
  assert_eq!(s.expiration(&["a", "b", "c"]), 10_200);
  assert_eq!(s.expiration(&["c"]), 0);

  // Another instance did updateTag('b') at 300 after our 'max'-style entry.
  s.apply_tag_states(
    &[(
      "b",
      TagState {
        stale_at_ms: Some(200),
        expired_at_ms: Some(300),
      },
    )],
    400,
  );
  assert_eq!(s.tag_states(&["b"])[0].unwrap().expired_at_ms, Some(300));
  // Older news never rolls a tag back.
  s.apply_tag_states(
    &[(
      "a",
      TagState {
        stale_at_ms: None,
        expired_at_ms: Some(50),
      },
    )],
    400,
  );
  assert_eq!(s.tag_states(&["a"])[0].unwrap().expired_at_ms, Some(100));
  s.set(b"k", vec![1], meta(&["c"], 10), 10);
  s.apply_tag_states(
    &[(
      "c",
      TagState {
        stale_at_ms: None,
        expired_at_ms: Some(20),
      },
    )],
    400,
  );
  assert!(
    s.get(b"k", &[], 400).is_none(),
    "applied states take effect"
  );
  s.clear_tags();
  assert_eq!(s.stats().tags, 0);
}

#[test]
fn too_large_is_rejected_with_the_real_limit() {
  let s = Store::new(CacheConfig {
    compression: Compression::None,
    shards: 4,
    ..CacheConfig::new(1 << 20)
  });
  assert_eq!(s.capacity(), 1 << 20);
  // quick_cache merges shards until each expects ≥ 32 entries (1 MiB / 16 KiB estimate = 64).
  assert_eq!(s.shards(), 2);
  assert_eq!(s.max_entry_bytes(), ((1u64 << 19) as f64 * 0.97) as u64);
  let size = entry_charge::<&str>(1, 600_000, &[]);
  assert_eq!(
    s.set(b"k", vec![0; 600_000], meta(&[], 1), 1),
    SetOutcome::TooLarge {
      size,
      max: s.max_entry_bytes()
    }
  );
  assert_eq!(s.stats().rejected, 1);
  assert_eq!(s.bytes(), 0);
}

#[test]
fn compression_can_make_a_large_value_fit() {
  let s = Store::new(CacheConfig {
    shards: 4,
    ..CacheConfig::new(1 << 20)
  });
  assert!(matches!(
    s.set(b"k", html(10_000), meta(&[], 1), 1),
    SetOutcome::Stored { .. }
  ));
  assert_eq!(&*s.get(b"k", &[], 1).unwrap().value, &html(10_000)[..]);
}

#[test]
fn evicts_to_stay_within_budget_and_counts_it() {
  let s = Store::new(CacheConfig {
    compression: Compression::None,
    shards: 1,
    ..CacheConfig::new(64 << 10)
  });
  let mut evicted = 0;
  for i in 0..100u32 {
    if let SetOutcome::Stored { evicted: e } =
      s.set(&i.to_le_bytes(), vec![0; 4000], meta(&[], 1), 1)
    {
      evicted += e;
    }
    assert!(s.bytes() <= s.capacity());
  }
  let st = s.stats();
  assert_eq!(st.evictions, evicted);
  assert!(evicted > 80);
  assert_eq!(st.entries + evicted, 100);
  assert_eq!(st.bytes, st.entries * entry_charge::<&str>(4, 4000, &[]));
}

#[test]
fn delete_and_clear() {
  let s = store(1 << 20);
  s.set(b"a", vec![1], meta(&[], 1), 1);
  s.set(b"b", vec![2], meta(&[], 1), 1);
  assert!(s.delete(b"a"));
  assert!(!s.delete(b"a"));
  assert!(s.get(b"a", &[], 1).is_none());
  s.revalidate_tags(&["t"], 1, None);
  s.clear();
  assert!(s.is_empty());
  assert_eq!(s.bytes(), 0);
  assert_eq!(s.stats().tags, 1, "clear keeps the tag manifest");
}

#[test]
fn odd_inputs_do_not_panic() {
  let s = store(4096);
  assert!(matches!(
    s.set(b"", Vec::new(), EntryMeta::default(), 0),
    SetOutcome::Stored { .. }
  ));
  assert_eq!(s.get(b"", &[""], 0).unwrap().value.len(), 0);
  s.revalidate_tags(&[""], u64::MAX, Some(u64::MAX));
  assert_eq!(
    s.tag_states(&[""])[0].unwrap().expired_at_ms,
    Some(u64::MAX)
  );
  let huge_tags = EntryMeta {
    tags: vec!["x".repeat(10_000)],
    ..EntryMeta::default()
  };
  assert!(matches!(
    s.set(b"k", vec![], huge_tags, 0),
    SetOutcome::TooLarge { .. }
  ));
  // A zero budget refuses everything.
  let z = store(0);
  assert!(matches!(
    z.set(b"k", vec![], EntryMeta::default(), 0),
    SetOutcome::TooLarge { max: 0, .. }
  ));
  assert!(z.get(b"k", &[], 0).is_none());
}

#[test]
fn stats_snapshot() {
  let s = Store::new(CacheConfig {
    shards: 2,
    ..CacheConfig::new(1 << 20)
  });
  s.set(b"a", vec![1; 10], meta(&["t"], 1), 1);
  s.get(b"a", &[], 1);
  s.get(b"nope", &[], 1);
  let st = s.stats();
  assert_eq!(
    st,
    Stats {
      hits: 1,
      stale_hits: 0,
      misses: 1,
      evictions: 0,
      expirations: 0,
      rejected: 0,
      bytes: 1 + 10 + 1 + 4 + ENTRY_OVERHEAD_BYTES,
      entries: 1,
      capacity: 1 << 20,
      max_entry_bytes: ((1u64 << 19) as f64 * 0.97) as u64,
      tags: 0,
    }
  );
}

#[test]
fn auto_shards_keep_large_entries_admissible() {
  // Next's default budget (cacheMaxMemorySize, 50 MiB): ≤ 2 shards of ≥ 16 MiB.
  let s = store(50 << 20);
  assert!(s.shards() <= 2);
  assert!(s.max_entry_bytes() >= 16 << 20);
  let small = store(1 << 20);
  assert_eq!(small.shards(), 1);
}

#[test]
fn judge_decides_as_get_does_for_entries_from_a_lower_tier() {
  let s = store(1 << 20);
  let cases = [
    (meta(&["a"], 10), &[][..]),
    (meta(&["b"], 10), &[][..]),
    (meta(&["c"], 10), &[][..]),
    (meta(&["x"], 10), &["b"][..]),
    (meta(&["x"], 10), &["a"][..]),
    (meta(&["a"], 500), &[][..]),
    (
      EntryMeta {
        expire_at_ms: Some(200),
        ..meta(&["x"], 10)
      },
      &[][..],
    ),
  ];
  s.revalidate_tags(&["a"], 100, None); // expired at 100
  s.revalidate_tags(&["b"], 100, Some(3600)); // stale from 100
  for (i, (m, extra)) in cases.iter().enumerate() {
    let key = format!("k{i}");
    let judged = s.judge(m, extra, 300);
    s.set(key.as_bytes(), vec![1], m.clone(), 300);
    let got = s.get(key.as_bytes(), extra, 300).map(|h| h.freshness);
    assert_eq!(judged, got, "case {i}: {m:?} {extra:?}");
  }
  assert_eq!(s.judge(&meta(&["a"], 10), &[], 300), None);
  assert_eq!(s.judge(&meta(&["b"], 10), &[], 300), Some(Freshness::Stale));
  assert_eq!(
    s.judge(&meta(&["a"], 500), &[], 300),
    Some(Freshness::Fresh)
  );
}
