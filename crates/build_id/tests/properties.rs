//! Property tests for the claims the build ID rests on. 32 cases each keeps the suite fast.

mod common;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;
use std::time::{Duration, SystemTime};

use common::write;
use next_native_build_id::{
  build_id, deployment_id, explain, hash_tree, Change, EntryKind, Manifest, Options,
};
use proptest::prelude::*;

type Tree = BTreeMap<String, Vec<u8>>;

/// Names that exercise byte-order sorting (case, dots, non-ASCII, spaces) and dotfiles.
const NAMES: &[&str] = &[
  "a", "b", "B", "a.ts", "a.b", "_x", "z-1", ".env.x", "ü", "日本", "a b", "A",
];

fn rel_path() -> impl Strategy<Value = String> {
  prop::collection::vec(prop::sample::select(NAMES), 1..4).prop_map(|parts| parts.join("/"))
}

/// A tree of 1–12 files where no file path is also a directory of another.
fn tree() -> impl Strategy<Value = Tree> {
  prop::collection::btree_map(rel_path(), prop::collection::vec(any::<u8>(), 0..64), 1..12)
    .prop_map(|mut t| {
      let paths: Vec<String> = t.keys().cloned().collect();
      for p in &paths {
        if paths.iter().any(|q| q.starts_with(&format!("{p}/"))) {
          t.remove(p);
        }
      }
      t
    })
    .prop_filter("non-empty", |t| !t.is_empty())
}

/// Writes `tree` in the order given by `order` (a permutation seed) with mtimes from `mtime`.
fn materialize(root: &Path, tree: &Tree, order: &[usize], mtime: u64) {
  std::fs::create_dir_all(root).unwrap();
  let entries: Vec<_> = tree.iter().collect();
  let mut idx: Vec<usize> = (0..entries.len()).collect();
  for (i, &o) in order.iter().enumerate() {
    let n = idx.len();
    idx.swap(i % n, o % n);
  }
  for (k, &i) in idx.iter().enumerate() {
    let (rel, content) = entries[i];
    write(root, rel, content);
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(mtime + k as u64 * 7919);
    File::options()
      .write(true)
      .open(root.join(rel))
      .unwrap()
      .set_modified(t)
      .unwrap();
  }
}

fn hash(root: &Path) -> Manifest {
  hash_tree(&Options::new(root)).unwrap()
}

fn pick(t: &Tree, i: usize) -> (&String, &Vec<u8>) {
  t.iter().nth(i % t.len()).unwrap()
}

proptest! {
  #![proptest_config(ProptestConfig { cases: 32, failure_persistence: None, ..ProptestConfig::default() })]

  #[test]
  fn same_tree_same_manifest_regardless_of_creation_order_and_mtimes(
    t in tree(),
    order in prop::collection::vec(any::<usize>(), 0..16),
    m1 in 0u64..1 << 32,
    m2 in 0u64..1 << 32,
  ) {
    let d = tempfile::tempdir().unwrap();
    materialize(&d.path().join("one"), &t, &[], m1);
    // Churn the directory so inode and readdir order differ, then build the copy shuffled.
    write(&d.path().join("two"), "churn/x", b"x");
    std::fs::remove_dir_all(d.path().join("two/churn")).unwrap();
    materialize(&d.path().join("two"), &t, &order, m2);
    let a = hash(&d.path().join("one"));
    let b = hash(&d.path().join("two"));
    prop_assert_eq!(&a, &b);
    prop_assert_eq!(a.files.len(), t.len());
    common::assert_id_formats(&a);
  }

  #[test]
  fn any_one_byte_change_changes_the_id_and_is_explained(
    t in tree(), which in any::<usize>(), pos in any::<usize>(), delta in 1u8..=255,
  ) {
    let d = tempfile::tempdir().unwrap();
    materialize(d.path(), &t, &[], 0);
    let before = hash(d.path());
    let (rel, content) = pick(&t, which);
    let mut changed = content.clone();
    if changed.is_empty() {
      changed.push(delta);
    } else {
      let i = pos % changed.len();
      changed[i] = changed[i].wrapping_add(delta);
    }
    write(d.path(), rel, &changed);
    let after = hash(d.path());
    prop_assert_ne!(build_id(&before), build_id(&after));
    prop_assert_ne!(deployment_id(&before), deployment_id(&after));
    prop_assert_eq!(explain(&before, &after), vec![Change::FileChanged {
      path: rel.clone(),
      old_kind: EntryKind::File,
      new_kind: EntryKind::File,
      old_size: content.len() as u64,
      new_size: changed.len() as u64,
    }]);
  }

  #[test]
  fn a_rename_or_an_added_file_changes_the_id(
    t in tree(), which in any::<usize>(), new_name in "[a-z]{1,8}\\.new",
  ) {
    let d = tempfile::tempdir().unwrap();
    materialize(d.path(), &t, &[], 0);
    let before = hash(d.path());
    let (rel, content) = pick(&t, which);
    let size = content.len() as u64;

    // Added file (a name no generated path can have).
    write(d.path(), &new_name, b"");
    let added = hash(d.path());
    prop_assert_ne!(build_id(&before), build_id(&added));
    prop_assert_eq!(explain(&before, &added), vec![Change::FileAdded {
      path: new_name.clone(), kind: EntryKind::File, size: 0,
    }]);
    std::fs::remove_file(d.path().join(&new_name)).unwrap();

    // Rename, same content.
    let renamed = match rel.rsplit_once('/') {
      Some((dir, _)) => format!("{dir}/{new_name}"),
      None => new_name.clone(),
    };
    std::fs::rename(d.path().join(rel), d.path().join(&renamed)).unwrap();
    let after = hash(d.path());
    prop_assert_ne!(build_id(&before), build_id(&after));
    let mut expected = vec![
      Change::FileRemoved { path: rel.clone(), kind: EntryKind::File, size },
      Change::FileAdded { path: renamed.clone(), kind: EntryKind::File, size },
    ];
    if renamed < *rel {
      expected.reverse();
    }
    prop_assert_eq!(explain(&before, &after), expected);
  }

  #[test]
  fn ignored_and_always_excluded_files_do_not_matter(
    t in tree(),
    noise in prop::collection::vec(
      (prop::sample::select(&[
        // "q" is not in NAMES, so none of these collides with a generated file.
        "ignored/x", "q/ignored/y", "c.log", "q/c.log", "node_modules/n/index.js",
        "q/node_modules/m.js", ".next/BUILD_ID", ".git/HEAD", "out/index.html",
        ".turbo/log", "q/.next/cache", ".vercel/project.json",
      ][..]), prop::collection::vec(any::<u8>(), 0..32)),
      1..6,
    ),
  ) {
    let d = tempfile::tempdir().unwrap();
    materialize(d.path(), &t, &[], 0);
    write(d.path(), ".gitignore", b"ignored/\n*.log\n");
    let before = hash(d.path());
    for (rel, content) in &noise {
      write(d.path(), rel, content);
    }
    prop_assert_eq!(hash(d.path()), before);
  }

  #[test]
  fn env_values_change_the_id_but_never_appear_in_the_manifest(
    env in prop::collection::btree_map("NEXT_PUBLIC_[A-Z]{1,6}", "sekret[A-Z0-9]{8,16}", 1..6),
    which in any::<usize>(),
    new_value in "sekret[A-Z0-9]{8,16}",
    shuffle in any::<bool>(),
  ) {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "a.ts", b"a");
    let mut pairs: Vec<(String, String)> = env.clone().into_iter().collect();
    let opts = |pairs: Vec<(String, String)>| Options { env: pairs, ..Options::new(d.path()) };
    let base = hash_tree(&opts(pairs.clone())).unwrap();
    let json = base.to_json();
    for (name, value) in &env {
      prop_assert!(json.contains(name.as_str()));
      prop_assert!(!json.contains(value.as_str()), "value of {} leaked", name);
    }
    // Order of the caller's list does not matter.
    if shuffle {
      pairs.reverse();
    }
    prop_assert_eq!(&hash_tree(&opts(pairs.clone())).unwrap(), &base);

    let (name, old) = env.iter().nth(which % env.len()).unwrap();
    prop_assume!(old != &new_value);
    let changed: Vec<_> = pairs.iter().map(|(n, v)| {
      (n.clone(), if n == name { new_value.clone() } else { v.clone() })
    }).collect();
    let after = hash_tree(&opts(changed)).unwrap();
    prop_assert_ne!(build_id(&base), build_id(&after));
    prop_assert_eq!(explain(&base, &after), vec![Change::EnvValueChanged { name: name.clone() }]);
    prop_assert!(!after.to_json().contains(new_value.as_str()));
  }

  /// explain() reports exactly the inputs that changed, in order, and nothing else.
  #[test]
  fn explain_reports_exactly_the_changed_inputs(
    t in tree(),
    actions in prop::collection::vec(0u8..3, 12),
    added in prop::collection::btree_set("[a-z]{1,6}\\.added", 0..3),
    env_change in 0u8..4,
    next_change in any::<bool>(),
    salt_change in 0u8..3,
  ) {
    let d = tempfile::tempdir().unwrap();
    materialize(d.path(), &t, &[], 0);
    let base_opts = Options {
      env: vec![("KEEP".into(), "1".into()), ("MOD".into(), "1".into()), ("DEL".into(), "1".into())],
      next_version: Some("16.4.6".into()),
      salt: Some("s1".into()),
      ..Options::new(d.path())
    };
    let before = hash_tree(&base_opts).unwrap();

    let mut file_changes: Vec<(String, Change)> = Vec::new();
    for (i, (rel, content)) in t.iter().enumerate() {
      let size = content.len() as u64;
      match actions[i % actions.len()] {
        1 => {
          let mut c = content.clone();
          c.push(b'!');
          write(d.path(), rel, &c);
          file_changes.push((rel.clone(), Change::FileChanged {
            path: rel.clone(), old_kind: EntryKind::File, new_kind: EntryKind::File,
            old_size: size, new_size: size + 1,
          }));
        }
        2 => {
          std::fs::remove_file(d.path().join(rel)).unwrap();
          file_changes.push((rel.clone(), Change::FileRemoved {
            path: rel.clone(), kind: EntryKind::File, size,
          }));
        }
        _ => {}
      }
    }
    for name in &added {
      write(d.path(), name, b"new");
      file_changes.push((name.clone(), Change::FileAdded {
        path: name.clone(), kind: EntryKind::File, size: 3,
      }));
    }
    file_changes.sort_by(|a, b| a.0.cmp(&b.0));

    let mut opts = base_opts.clone();
    let mut expected = Vec::new();
    if next_change {
      opts.next_version = None;
      expected.push(Change::NextVersionChanged { old: Some("16.4.6".into()), new: None });
    }
    match salt_change {
      1 => {
        opts.salt = Some("s2".into());
        expected.push(Change::SaltChanged { old_present: true, new_present: true });
      }
      2 => {
        opts.salt = None;
        expected.push(Change::SaltChanged { old_present: true, new_present: false });
      }
      _ => {}
    }
    match env_change {
      1 => {
        opts.env.retain(|(n, _)| n != "DEL");
        expected.push(Change::EnvRemoved { name: "DEL".into() });
      }
      2 => {
        opts.env.push(("ADD".into(), "x".into()));
        expected.push(Change::EnvAdded { name: "ADD".into() });
      }
      3 => {
        opts.env[1].1 = "2".into();
        expected.push(Change::EnvValueChanged { name: "MOD".into() });
      }
      _ => {}
    }
    expected.extend(file_changes.into_iter().map(|(_, c)| c));

    let after = hash_tree(&opts).unwrap();
    let got = explain(&before, &after);
    prop_assert_eq!(&got, &expected);
    prop_assert_eq!(got.is_empty(), before.digest == after.digest);
    // Both manifests survive a JSON round trip and still explain the same way.
    let (b2, a2) = (
      Manifest::from_json(&before.to_json()).unwrap(),
      Manifest::from_json(&after.to_json()).unwrap(),
    );
    b2.verify().unwrap();
    a2.verify().unwrap();
    prop_assert_eq!(explain(&b2, &a2), expected);
  }
}

#[cfg(unix)]
mod unix {
  use super::*;
  use std::os::unix::fs::{symlink, PermissionsExt};

  proptest! {
    #![proptest_config(ProptestConfig { cases: 32, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn permission_bits_do_not_change_the_id(
      t in tree(),
      modes in prop::collection::vec(prop::sample::select(&[0o400u32, 0o444, 0o600, 0o644, 0o700, 0o755, 0o777][..]), 12),
    ) {
      let d = tempfile::tempdir().unwrap();
      materialize(d.path(), &t, &[], 0);
      let before = hash(d.path());
      for (i, rel) in t.keys().enumerate() {
        std::fs::set_permissions(d.path().join(rel), std::fs::Permissions::from_mode(modes[i % modes.len()])).unwrap();
      }
      prop_assert_eq!(hash(d.path()), before);
    }

    /// Symlinks are their link text: never followed (loops and dangling links are fine), the
    /// target's content is irrelevant, the text and the kind are not.
    #[test]
    fn symlinks_are_hashed_as_link_text(
      t in tree(),
      target in prop::sample::select(&[".", "..", "a", "missing/file", "/etc/hostname", "../../x", "日本"][..]),
      other in prop::sample::select(&["b", "./a", "a/"][..]),
    ) {
      let d = tempfile::tempdir().unwrap();
      materialize(d.path(), &t, &[], 0);
      symlink(target, d.path().join("link.lnk")).unwrap();
      let before = hash(d.path());
      let entry = before.files.iter().find(|f| f.path == "link.lnk").unwrap();
      prop_assert_eq!(entry.kind, EntryKind::Symlink);
      prop_assert_eq!(entry.size, target.len() as u64);
      prop_assert_eq!(entry.sha256, next_native_build_id::Sha256::of(target.as_bytes()));
      // The walk did not go through the link.
      prop_assert!(!before.files.iter().any(|f| f.path.starts_with("link.lnk/")));

      // Different link text → different ID.
      std::fs::remove_file(d.path().join("link.lnk")).unwrap();
      symlink(other, d.path().join("link.lnk")).unwrap();
      prop_assert_ne!(build_id(&before), build_id(&hash(d.path())));

      // A regular file holding the same text is a different input (kind is hashed).
      std::fs::remove_file(d.path().join("link.lnk")).unwrap();
      std::fs::write(d.path().join("link.lnk"), target).unwrap();
      let as_file = hash(d.path());
      prop_assert_ne!(build_id(&before), build_id(&as_file));
      let file_changed = Change::FileChanged {
        path: "link.lnk".into(), old_kind: EntryKind::Symlink, new_kind: EntryKind::File,
        old_size: target.len() as u64, new_size: target.len() as u64,
      };
      prop_assert_eq!(explain(&before, &as_file), vec![file_changed]);
    }
  }
}
