//! Timing against files produced outside the repo (ignored by default):
//! `ENV_BENCH_DIR=/tmp/envbench cargo test -p next_native_env --test bench -- --ignored --nocapture`
//! where each `<name>.env` has a `<name>.env.json` holding upstream's `Object.entries(parsed)` after
//! `expand` with an empty process.env.

use std::time::Instant;

#[test]
#[ignore]
fn bench_files() {
  let dir = std::env::var("ENV_BENCH_DIR").expect("set ENV_BENCH_DIR");
  let mut names: Vec<_> = std::fs::read_dir(&dir)
    .unwrap()
    .filter_map(|e| e.ok()?.file_name().into_string().ok())
    .filter(|n| n.ends_with(".env"))
    .collect();
  names.sort();
  for name in names {
    let src = std::fs::read_to_string(format!("{dir}/{name}")).unwrap();
    let want: Vec<(String, String)> = serde_json::from_str::<Vec<Vec<String>>>(
      &std::fs::read_to_string(format!("{dir}/{name}.json")).unwrap(),
    )
    .unwrap()
    .into_iter()
    .map(|kv| (kv[0].clone(), kv[1].clone()))
    .collect();
    let run = || next_native_env::expand(next_native_env::parse(&src), &|_| None).unwrap();
    assert_eq!(run(), want, "{name}");
    let n = 50;
    let t = Instant::now();
    for _ in 0..n {
      std::hint::black_box(run());
    }
    let per = t.elapsed().as_secs_f64() * 1e3 / f64::from(n);
    let t = Instant::now();
    for _ in 0..n {
      std::hint::black_box(next_native_env::parse(&src));
    }
    let parse_only = t.elapsed().as_secs_f64() * 1e3 / f64::from(n);
    println!("{name}: {per:.3} ms/iter (parse {parse_only:.3} ms)");
  }
}
