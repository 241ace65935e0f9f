//! Containment of panics and hangs in the AV1 decoder (src/contain.rs). Each scenario runs in a
//! child process: this test binary run again with `NEXT_NATIVE_CONTAIN_SCENARIO` set. The
//! containment state (parked threads, the cap) is process-wide, and if containment broke, the
//! abort would end the child and fail the test instead of killing the test runner.
//! No timing is asserted: timeouts are only bounds on waiting.

mod common;

use std::io::{Read, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;
use next_native_image::contain::{foreign, run};
use next_native_image::{avif_decoder_faults, optimize, OptimizeOptions, OutputFormat, MAX_STUCK};

const SCENARIO: &str = "NEXT_NATIVE_CONTAIN_SCENARIO";
const LONG: Duration = Duration::from_secs(120);

/// Panics, like a rav1d bug would, in a function with the C ABI: unwinding out of it aborts.
extern "C" fn panics_with_c_abi(n: u32) -> u32 {
  if n < 1000 {
    panic!(
      "index out of bounds: the len is {n} but the index is {}",
      n + 1
    );
  }
  n
}

/// A panic inside `extern "C"` code on a contained thread, as a rav1d call would make it.
fn contained_panic(n: u32) -> Result<u32, next_native_image::ImageError> {
  run("AVIF", "the AV1 decoder", LONG, move || {
    Ok(foreign(|| panics_with_c_abi(n)))
  })
}

fn avif() -> Vec<u8> {
  let rgb = photo(48, 32);
  let source = png(48, 32, &rgb, image::ExtendedColorType::Rgb8);
  optimize(&source, &OptimizeOptions::new(48, OutputFormat::Avif))
    .unwrap()
    .data
}

fn decodes(file: &[u8]) -> Result<(), next_native_image::ImageError> {
  optimize(file, &OptimizeOptions::new(16, OutputFormat::Jpeg)).map(|_| ())
}

/// Waits (bounded) until `f` holds; the bound is a liveness limit, not a timing assertion.
fn eventually(what: &str, f: impl Fn() -> bool) {
  let start = Instant::now();
  while !f() {
    assert!(start.elapsed() < LONG, "never happened: {what}");
    std::thread::sleep(Duration::from_millis(5));
  }
}

/// Runs `test` (this file's test function of that name) in a child with `scenario` set, and
/// kills it if it has not ended after [`LONG`].
fn child(test: &str, scenario: &str) -> (ExitStatus, String) {
  let mut child = Command::new(std::env::current_exe().unwrap())
    .args([test, "--exact", "--nocapture", "--test-threads=1"])
    .env(SCENARIO, scenario)
    .env_remove("RUST_BACKTRACE")
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
  let read = |mut r: Box<dyn Read + Send>| {
    std::thread::spawn(move || {
      let mut text = String::new();
      let _ = r.read_to_string(&mut text);
      text
    })
  };
  let out = read(Box::new(child.stdout.take().unwrap()));
  let err = read(Box::new(child.stderr.take().unwrap()));
  let start = Instant::now();
  let status = loop {
    if let Some(status) = child.try_wait().unwrap() {
      break status;
    }
    if start.elapsed() > LONG {
      let _ = child.kill();
      let _ = child.wait();
      panic!("{scenario}: the child hung");
    }
    std::thread::sleep(Duration::from_millis(20));
  };
  let text = format!("{}\n{}", out.join().unwrap(), err.join().unwrap());
  (status, text)
}

/// Runs the scenario in a child and asserts it exited normally, having reached its end.
fn passes_in_child(test: &str, scenario: &str) -> String {
  let (status, text) = child(test, scenario);
  #[cfg(unix)]
  {
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
      status.signal(),
      None,
      "{scenario}: the child died by a signal (abort?)\n{text}"
    );
  }
  assert!(status.success(), "{scenario}: {status:?}\n{text}");
  assert!(
    text.contains(&format!("scenario {scenario} done")),
    "{scenario} did not run to its end\n{text}"
  );
  text
}

fn scenario() -> Option<String> {
  std::env::var(SCENARIO).ok()
}

/// Ends a scenario's process. Exiting here, rather than returning to libtest, is needed: after
/// a contained panic libtest would hang at its end, in `take_hook` (see src/contain.rs).
fn done(name: &str) -> ! {
  println!("scenario {name} done");
  let _ = std::io::stdout().flush();
  std::process::exit(0)
}

#[test]
fn a_panic_in_c_abi_code_is_an_error_and_the_process_lives_on() {
  match scenario().as_deref() {
    None => {
      let text = passes_in_child(
        "a_panic_in_c_abi_code_is_an_error_and_the_process_lives_on",
        "panic",
      );
      // The previous (default) hook still logged the panic.
      assert!(text.contains("index out of bounds: the len is 7"), "{text}");
    }
    Some("panic") => {
      let file = avif();
      decodes(&file).unwrap();
      assert_eq!(avif_decoder_faults().stuck, 0);

      let e = contained_panic(7).unwrap_err();
      assert_eq!(e.code(), "IMAGE_DECODE");
      assert!(
        e.to_string().contains(
          "the AV1 decoder panicked: index out of bounds: the len is 7 but the index is 8"
        ),
        "{e}"
      );
      let faults = avif_decoder_faults();
      assert_eq!((faults.panicked, faults.stuck), (1, 1), "{faults:?}");

      // The process and AVIF decoding carry on.
      decodes(&file).unwrap();
      // Other panics still unwind and are caught (the parked thread holds std's hook lock
      // for reading only).
      assert!(std::thread::spawn(|| panic!("an ordinary panic"))
        .join()
        .is_err());
      assert!(std::panic::catch_unwind(|| panic!("caught here")).is_err());
      // A panic in our own code on the decode thread (outside `foreign`) unwinds and is
      // caught there: an error, and no parked thread.
      let e = run("AVIF", "the AV1 decoder", LONG, || -> Result<(), _> {
        panic!("a bug of ours")
      })
      .unwrap_err();
      assert!(e.to_string().contains("decoder panicked"), "{e}");
      assert_eq!(avif_decoder_faults().stuck, 1);
      // Containment does not change answers: a result or an error passes through.
      assert_eq!(contained_ok(5), Ok(5));
      done("panic");
    }
    Some(_) => {}
  }
}

fn contained_ok(n: u32) -> Result<u32, next_native_image::ImageError> {
  run("AVIF", "the AV1 decoder", LONG, move || {
    Ok(foreign(|| panics_with_c_abi(n + 1000)) - 1000)
  })
}

/// The control: without containment the same panic aborts, and the harness sees it.
#[cfg(unix)]
#[test]
fn uncontained_the_same_panic_aborts() {
  match scenario().as_deref() {
    None => {
      use std::os::unix::process::ExitStatusExt;
      let (status, text) = child("uncontained_the_same_panic_aborts", "uncontained");
      assert_eq!(status.signal(), Some(libc_sigabrt()), "{text}");
      assert!(
        text.contains("panic in a function that cannot unwind"),
        "{text}"
      );
    }
    Some("uncontained") => {
      panics_with_c_abi(3);
      done("uncontained");
    }
    Some(_) => {}
  }
}

#[cfg(unix)]
fn libc_sigabrt() -> i32 {
  6
}

#[test]
fn after_max_stuck_contained_panics_avif_is_refused() {
  match scenario().as_deref() {
    None => {
      passes_in_child("after_max_stuck_contained_panics_avif_is_refused", "cap");
    }
    Some("cap") => {
      let file = avif();
      for n in 0..MAX_STUCK as u32 {
        decodes(&file).unwrap();
        assert!(contained_panic(n).is_err());
      }
      assert_eq!(avif_decoder_faults().stuck, MAX_STUCK);
      let e = decodes(&file).unwrap_err();
      assert_eq!(e.code(), "IMAGE_DECODE");
      assert!(
        e.to_string()
          .contains("AVIF decoding is off in this process"),
        "{e}"
      );
      assert!(e.to_string().contains("restart the process"), "{e}");
      // Refused up front: no thread was started, nothing more is stuck.
      assert!(contained_panic(1).is_err());
      assert_eq!(avif_decoder_faults().panicked, MAX_STUCK);
      // Other formats are not affected.
      let rgb = photo(32, 16);
      decodes(&png(32, 16, &rgb, image::ExtendedColorType::Rgb8)).unwrap();
      done("cap");
    }
    Some(_) => {}
  }
}

#[test]
fn a_hang_times_out_and_a_late_finisher_stops_counting() {
  match scenario().as_deref() {
    None => {
      passes_in_child(
        "a_hang_times_out_and_a_late_finisher_stops_counting",
        "hang",
      );
    }
    Some("hang") => {
      let short = Duration::from_millis(50);
      let e = run("AVIF", "the AV1 decoder", short, || -> Result<(), _> {
        loop {
          std::thread::park();
        }
      })
      .unwrap_err();
      assert_eq!(e.code(), "IMAGE_DECODE");
      assert!(e.to_string().contains("did not finish within 50ms"), "{e}");
      let faults = avif_decoder_faults();
      assert_eq!((faults.timed_out, faults.stuck), (1, 1), "{faults:?}");

      // A decode that is only slow: abandoned when its caller stops waiting, then no longer
      // counted once it finishes.
      let (release, wait) = mpsc::channel::<()>();
      let e = run("AVIF", "the AV1 decoder", short, move || {
        wait.recv().unwrap();
        Ok(())
      })
      .unwrap_err();
      assert!(e.to_string().contains("did not finish"), "{e}");
      assert_eq!(avif_decoder_faults().stuck, 2);
      release.send(()).unwrap();
      eventually("the late decode is forgotten", || {
        avif_decoder_faults().stuck == 1
      });
      assert_eq!(avif_decoder_faults().timed_out, 2);
      decodes(&avif()).unwrap();
      done("hang");
    }
    Some(_) => {}
  }
}

#[test]
fn a_panic_on_a_rav1d_worker_thread_is_parked_and_its_decode_times_out() {
  match scenario().as_deref() {
    None => {
      passes_in_child(
        "a_panic_on_a_rav1d_worker_thread_is_parked_and_its_decode_times_out",
        "worker",
      );
    }
    Some("worker") => {
      // As rav1d's workers run its `extern "C"` DSP fallbacks: a panic there would abort.
      let e = run(
        "AVIF",
        "the AV1 decoder",
        Duration::from_millis(200),
        || -> Result<(), _> {
          let worker = std::thread::Builder::new()
            .name("rav1d-worker-0".into())
            .spawn(|| panics_with_c_abi(9))
            .unwrap();
          let _ = worker.join(); // never returns: the worker is parked
          Ok(())
        },
      )
      .unwrap_err();
      assert!(e.to_string().contains("did not finish"), "{e}");
      eventually("the worker is parked", || {
        avif_decoder_faults().workers_parked == 1
      });
      let faults = avif_decoder_faults();
      assert_eq!((faults.panicked, faults.stuck), (0, 1), "{faults:?}");
      decodes(&avif()).unwrap();
      done("worker");
    }
    Some(_) => {}
  }
}

/// Not a test: the rate behind `avif::decode_timeout` (10 s + 1 µs per pixel), for whole
/// optimizations of AVIF input, so an upper bound on the decode's share.
/// `cargo test -p next_native_image --release --test contain -- --ignored --nocapture`
#[test]
#[ignore]
fn avif_decode_rate() {
  if scenario().is_some() {
    return;
  }
  for (w, h, q) in [(1024u32, 768u32, 90), (1024, 768, 100), (3000, 2000, 90)] {
    let rgb = photo(w, h);
    let source = png(w, h, &rgb, image::ExtendedColorType::Rgb8);
    let mut opts = OptimizeOptions::new(w, OutputFormat::Avif);
    opts.quality = q;
    opts.avif_speed = 10;
    let file = optimize(&source, &opts).unwrap().data;
    let start = Instant::now();
    let rounds = 3;
    for _ in 0..rounds {
      decodes(&file).unwrap();
    }
    let secs = start.elapsed().as_secs_f64() / f64::from(rounds);
    println!(
      "{w}x{h} q{q} ({} KB): {:.0} ms a decode, {:.1} Mpx/s, {:.3} µs/px",
      file.len() / 1000,
      secs * 1e3,
      f64::from(w * h) / secs / 1e6,
      secs * 1e6 / f64::from(w * h)
    );
  }
}
