//! Per-user git excludes must not change the ID. This lives in its own test binary because it
//! points HOME and XDG_CONFIG_HOME at a fake home, which would race with other tests.

mod common;

use common::{hash, paths, write};

#[test]
fn core_excludes_file_and_xdg_git_ignore_are_not_read() {
  let t = tempfile::tempdir().unwrap();
  let home = t.path().join("home");
  write(&home, ".config/git/ignore", b"*.ts\n");
  write(&home, "global-ignore", b"*.md\n");
  write(
    &home,
    ".gitconfig",
    format!(
      "[core]\n\texcludesFile = {}\n",
      home.join("global-ignore").display()
    )
    .as_bytes(),
  );
  let app = t.path().join("app");
  write(&app, "a.ts", b"a");
  write(&app, "b.md", b"b");
  write(&app, ".git/HEAD", b"ref: refs/heads/main\n");
  let before = hash(&app);
  // Single-threaded test binary: nothing else reads the environment concurrently.
  std::env::set_var("HOME", &home);
  std::env::set_var("XDG_CONFIG_HOME", home.join(".config"));
  let after = hash(&app);
  assert_eq!(paths(&after), ["a.ts", "b.md"]);
  assert_eq!(after, before);
}
