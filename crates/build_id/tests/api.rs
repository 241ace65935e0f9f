//! Example-based tests of the public API: which paths are inputs, policies, errors, JSON.

mod common;

use std::path::Path;

use common::{assert_id_formats, hash, paths, write};
use next_native_build_id::{
  build_id, explain, hash_tree, BuildIdError, Change, EntryKind, Manifest, Options, Sha256,
};

#[test]
fn gitignore_applies_without_a_git_dir_with_nesting_and_negation() {
  let t = tempfile::tempdir().unwrap();
  let r = t.path();
  write(r, ".gitignore", b"*.log\n/build\n!keep.log\n");
  write(r, "a.log", b"x");
  write(r, "keep.log", b"x");
  write(r, "build/x.js", b"x");
  write(r, "src/build/y.js", b"x"); // `/build` is anchored to the root
  write(r, "sub/.gitignore", b"local.txt\n");
  write(r, "sub/local.txt", b"x");
  write(r, "local.txt", b"x"); // sub's rule does not apply above sub
  write(r, "src/a.ts", b"x");
  let m = hash(r);
  assert_eq!(
    paths(&m),
    [
      ".gitignore",
      "keep.log",
      "local.txt",
      "src/a.ts",
      "src/build/y.js",
      "sub/.gitignore"
    ]
  );
  assert_id_formats(&m);
}

#[test]
fn always_excluded_directories_and_dist_dir() {
  let t = tempfile::tempdir().unwrap();
  let r = t.path();
  for rel in [
    "node_modules/next/package.json",
    "packages/ui/node_modules/x.js",
    ".next/BUILD_ID",
    ".git/HEAD",
    ".turbo/cache",
    ".vercel/project.json",
    "out/index.html",
    "build/server.js",
  ] {
    write(r, rel, b"x");
  }
  write(r, "src/out/keep.ts", b"x"); // only the root `out` is excluded
  write(r, "app/page.tsx", b"x");
  let m = hash_tree(&Options {
    dist_dir: Some("./build/".into()),
    ..Options::new(r)
  })
  .unwrap();
  assert_eq!(paths(&m), ["app/page.tsx", "src/out/keep.ts"]);
  // Without dist_dir, `build/` is an ordinary directory.
  assert!(paths(&hash(r)).contains(&"build/server.js"));
}

#[test]
fn always_included_files_survive_gitignore_include_and_exclude() {
  let t = tempfile::tempdir().unwrap();
  let r = t.path();
  write(
    r,
    ".gitignore",
    b"*.json\n*.lock\n*.lockb\nnext.config.*\npnpm-lock.yaml\n",
  );
  for rel in [
    "package.json",
    "package-lock.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "bun.lock",
    "bun.lockb",
    "next.config.mjs",
    "src/a.ts",
    "src/b.test.ts",
    "src/package.json", // not at the root: ordinary, and gitignored
    "tsconfig.json",
    "README.md",
  ] {
    write(r, rel, rel.as_bytes());
  }
  let m = hash_tree(&Options {
    include: vec!["src/**".into()],
    exclude: vec![
      "package.json".into(),
      "**/*.lock".into(),
      "**/*.test.ts".into(),
    ],
    ..Options::new(r)
  })
  .unwrap();
  assert_eq!(
    paths(&m),
    [
      "bun.lock",
      "bun.lockb",
      "next.config.mjs",
      "package-lock.json",
      "package.json",
      "pnpm-lock.yaml",
      "src/a.ts",
      "yarn.lock"
    ]
  );
}

#[test]
fn exclude_prunes_directories_and_globs_are_relative() {
  let t = tempfile::tempdir().unwrap();
  let r = t.path();
  write(r, "docs/a.md", b"x");
  write(r, "src/docs/b.md", b"x");
  write(r, "src/c.ts", b"x");
  let m = hash_tree(&Options {
    exclude: vec!["./docs".into()],
    ..Options::new(r)
  })
  .unwrap();
  assert_eq!(paths(&m), ["src/c.ts", "src/docs/b.md"]);
  let m = hash_tree(&Options {
    exclude: vec!["**/docs".into()],
    ..Options::new(r)
  })
  .unwrap();
  assert_eq!(paths(&m), ["src/c.ts"]);
  // `*` does not cross `/`.
  let m = hash_tree(&Options {
    include: vec!["*.ts".into()],
    ..Options::new(r)
  })
  .unwrap();
  assert!(m.files.is_empty());
}

#[test]
fn ignore_rules_outside_dir_and_in_git_info_exclude_have_no_effect() {
  let t = tempfile::tempdir().unwrap();
  let parent = t.path().join("parent");
  let app = parent.join("app");
  write(&parent, ".gitignore", b"*.ts\n");
  write(&parent, ".git/info/exclude", b"*.md\n");
  write(&app, ".git/info/exclude", b"*.md\n");
  write(&app, "a.ts", b"a");
  write(&app, "b.md", b"b");
  let with_rules = hash(&app);
  assert_eq!(paths(&with_rules), ["a.ts", "b.md"]);

  let clean = t.path().join("clean");
  write(&clean, "a.ts", b"a");
  write(&clean, "b.md", b"b");
  assert_eq!(hash(&clean), with_rules);
}

#[test]
fn a_project_dir_named_out_is_still_walked() {
  let t = tempfile::tempdir().unwrap();
  let r = t.path().join("out");
  write(&r, "a.ts", b"x");
  assert_eq!(paths(&hash(&r)), ["a.ts"]);
}

#[test]
fn manifest_json_shape_and_round_trip() {
  let t = tempfile::tempdir().unwrap();
  let r = t.path();
  write(r, "app/page.tsx", b"export default 1\n");
  let m = hash_tree(&Options {
    env: vec![("NEXT_PUBLIC_X".into(), "value-that-must-not-leak".into())],
    next_version: Some("16.4.6".into()),
    salt: Some("salt-that-must-not-leak".into()),
    ..Options::new(r)
  })
  .unwrap();
  let json = m.to_json();
  assert!(!json.contains("value-that-must-not-leak"));
  assert!(!json.contains("salt-that-must-not-leak"));
  let v: serde_json::Value = serde_json::from_str(&json).unwrap();
  let mut keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
  keys.sort();
  assert_eq!(
    keys,
    [
      "digest",
      "env",
      "files",
      "format_version",
      "next_version",
      "salt_sha256"
    ]
  );
  assert_eq!(v["format_version"], 1);
  assert_eq!(v["next_version"], "16.4.6");
  assert_eq!(v["env"][0]["name"], "NEXT_PUBLIC_X");
  assert_eq!(
    v["env"][0]["value_sha256"],
    next_native_build_id::env_value_sha256("NEXT_PUBLIC_X", "value-that-must-not-leak").to_hex()
  );
  assert_eq!(
    v["files"][0],
    serde_json::json!({
        "path": "app/page.tsx",
        "kind": "file",
        "size": 17,
        "sha256": Sha256::of(b"export default 1\n").to_hex(),
    })
  );
  let back = Manifest::from_json(&json).unwrap();
  assert_eq!(back, m);
  back.verify().unwrap();
  assert_eq!(build_id(&back), build_id(&m));
  assert!(matches!(
    Manifest::from_json("{}"),
    Err(BuildIdError::ManifestJson { .. })
  ));
}

#[test]
fn same_id_on_any_thread_count() {
  let t = tempfile::tempdir().unwrap();
  for i in 0..200 {
    write(t.path(), &format!("d{}/f{i}.txt", i % 7), &[i as u8; 3000]);
  }
  let on = |n| {
    rayon::ThreadPoolBuilder::new()
      .num_threads(n)
      .build()
      .unwrap()
      .install(|| hash(t.path()))
  };
  let one = on(1);
  assert_eq!(one.files.len(), 200);
  assert_eq!(on(2), one);
  assert_eq!(on(7), one);
}

#[test]
fn explain_of_identical_trees_is_empty() {
  let t = tempfile::tempdir().unwrap();
  write(t.path(), "a", b"1");
  let a = hash(t.path());
  write(t.path(), "a", b"2");
  let b = hash(t.path());
  assert!(explain(&a, &a.clone()).is_empty());
  assert_eq!(
    explain(&a, &b),
    [Change::FileChanged {
      path: "a".into(),
      old_kind: EntryKind::File,
      new_kind: EntryKind::File,
      old_size: 1,
      new_size: 1
    }]
  );
}

// ---- errors ----

#[test]
fn missing_dir_is_an_error_naming_it() {
  let t = tempfile::tempdir().unwrap();
  let missing = t.path().join("nope");
  let err = hash_tree(&Options::new(&missing)).unwrap_err();
  assert!(matches!(err, BuildIdError::ProjectDir { .. }), "{err:?}");
  assert_eq!(err.code(), "BUILD_ID_PROJECT_DIR");
  assert!(
    err.to_string().contains(&missing.display().to_string()),
    "{err}"
  );

  write(t.path(), "file", b"x");
  let err = hash_tree(&Options::new(t.path().join("file"))).unwrap_err();
  assert!(matches!(err, BuildIdError::NotADirectory { .. }), "{err:?}");
}

#[test]
fn bad_options_are_errors() {
  let t = tempfile::tempdir().unwrap();
  let err = |o: Options| hash_tree(&o).unwrap_err();
  let e = err(Options {
    include: vec!["src/[".into()],
    ..Options::new(t.path())
  });
  assert!(
    matches!(
      e,
      BuildIdError::Glob {
        list: "include",
        ..
      }
    ),
    "{e:?}"
  );
  let e = err(Options {
    env: vec![("A".into(), "1".into()), ("A".into(), "2".into())],
    ..Options::new(t.path())
  });
  assert!(matches!(e, BuildIdError::DuplicateEnv { .. }), "{e:?}");
  let e = err(Options {
    dist_dir: Some(".".into()),
    ..Options::new(t.path())
  });
  assert!(matches!(e, BuildIdError::InvalidDistDir { .. }), "{e:?}");
}

#[test]
fn invalid_gitignore_pattern_is_an_error_naming_the_file() {
  let t = tempfile::tempdir().unwrap();
  write(t.path(), "sub/.gitignore", b"ok\n[z-a]\n");
  write(t.path(), "sub/x", b"x");
  let err = hash_tree(&Options::new(t.path())).unwrap_err();
  assert!(matches!(err, BuildIdError::IgnoreRules { .. }), "{err:?}");
  let msg = err.to_string();
  assert!(msg.contains("sub") && msg.contains(".gitignore"), "{msg}");
}

#[test]
fn options_debug_redacts_secrets() {
  let o = Options {
    env: vec![("API_KEY".into(), "hunter2".into())],
    salt: Some("pepper".into()),
    ..Options::new("/x")
  };
  let dbg = format!("{o:?}");
  assert!(dbg.contains("API_KEY"));
  assert!(!dbg.contains("hunter2") && !dbg.contains("pepper"), "{dbg}");
}

#[cfg(unix)]
mod unix {
  use super::*;
  use std::os::unix::fs::{symlink, PermissionsExt};

  fn running_as_root(probe_dir: &Path) -> bool {
    // Root reads mode-000 files; detect that instead of assuming a uid.
    let probe = probe_dir.join(".probe");
    std::fs::write(&probe, b"x").unwrap();
    std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o000)).unwrap();
    let readable = std::fs::read(&probe).is_ok();
    std::fs::remove_file(&probe).unwrap();
    readable
  }

  #[test]
  fn symlinks_are_link_text_never_followed() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path().join("app");
    let outside = t.path().join("outside.txt");
    std::fs::write(&outside, b"v1").unwrap();
    write(&r, "src/a.ts", b"a");
    symlink(&outside, r.join("escape")).unwrap();
    symlink(".", r.join("loop")).unwrap();
    symlink("..", r.join("src/up")).unwrap();
    symlink("does/not/exist", r.join("broken")).unwrap();
    symlink("src", r.join("dirlink")).unwrap();
    let m = hash(&r);
    assert_eq!(
      paths(&m),
      ["broken", "dirlink", "escape", "loop", "src/a.ts", "src/up"]
    );
    let broken = &m.files[0];
    assert_eq!(broken.kind, EntryKind::Symlink);
    assert_eq!(broken.size, "does/not/exist".len() as u64);
    assert_eq!(broken.sha256, Sha256::of(b"does/not/exist"));

    // The target's content is not an input; the link text is.
    std::fs::write(&outside, b"v2").unwrap();
    assert_eq!(hash(&r), m);
    std::fs::remove_file(r.join("broken")).unwrap();
    symlink("does/not/exist2", r.join("broken")).unwrap();
    assert_ne!(hash(&r).digest, m.digest);
  }

  #[test]
  fn symlinked_project_dir_is_resolved() {
    let t = tempfile::tempdir().unwrap();
    let real = t.path().join("real");
    write(&real, "a.ts", b"a");
    symlink(&real, t.path().join("link")).unwrap();
    assert_eq!(hash(&t.path().join("link")), hash(&real));
  }

  #[test]
  fn special_files_are_errors_naming_the_path() {
    let t = tempfile::tempdir().unwrap();
    write(t.path(), "a.ts", b"a");
    let fifo = t.path().join("pipe");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
      eprintln!("skipping: mkfifo unavailable");
      return;
    }
    let err = hash_tree(&Options::new(t.path())).unwrap_err();
    assert!(matches!(err, BuildIdError::SpecialFile { .. }), "{err:?}");
    assert!(
      err.to_string().contains(&fifo.display().to_string()),
      "{err}"
    );
    // …unless it is excluded.
    let ok = hash_tree(&Options {
      exclude: vec!["pipe".into()],
      ..Options::new(t.path())
    });
    assert_eq!(paths(&ok.unwrap()), ["a.ts"]);
  }

  #[test]
  fn unreadable_file_and_directory_are_errors_naming_the_path() {
    let t = tempfile::tempdir().unwrap();
    if running_as_root(t.path()) {
      eprintln!("skipping: running as root, permission bits are not enforced");
      return;
    }
    write(t.path(), "ok.ts", b"a");
    write(t.path(), "secret.ts", b"a");
    let file = t.path().join("secret.ts");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o000)).unwrap();
    let err = hash_tree(&Options::new(t.path())).unwrap_err();
    assert!(matches!(err, BuildIdError::Io { .. }), "{err:?}");
    assert!(
      err.to_string().contains(&file.display().to_string()),
      "{err}"
    );
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();

    write(t.path(), "locked/x.ts", b"a");
    let dir = t.path().join("locked");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o000)).unwrap();
    let err = hash_tree(&Options::new(t.path())).unwrap_err();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(matches!(err, BuildIdError::Io { .. }), "{err:?}");
    assert!(
      err.to_string().contains(&dir.display().to_string()),
      "{err}"
    );
  }
}
