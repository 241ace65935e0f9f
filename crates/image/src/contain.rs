//! Containment for a decoder we can only call through `extern "C"`: rav1d, the AV1 decoder.
//!
//! Since Rust 1.81 a panic that would unwind out of an `extern "C"` function aborts the
//! process, and `catch_unwind` cannot help: the abort happens at the `extern "C"` frame, before
//! the unwind reaches any catch. rav1d's only public API is its dav1d-style `extern "C"` one, and
//! its portable DSP functions are `extern "C"` Rust functions too, run on its worker threads.
//! Under Node an abort ends every request in the process. So:
//!
//! - A foreign decode runs on a thread of its own ([`run`]; a new thread per decode costs tens
//!   of µs, and rav1d already starts two per decode), and the caller waits for its answer on a
//!   channel, at most for a timeout.
//! - A panic on that thread while it is inside foreign code ([`foreign`]), or on one of
//!   rav1d's worker threads (named `rav1d-worker-N`), is stopped in the process panic hook,
//!   before any unwinding starts: the hook answers the waiting caller with `IMAGE_DECODE`
//!   ("the AV1 decoder panicked: …"), passes the panic to the previous hook (which logs it,
//!   as it logs every other panic), and then parks the thread forever. No frame is unwound,
//!   so no `extern "C"` frame is either, and nothing aborts. (Panics in our own code on that
//!   thread, outside [`foreign`], unwind normally and are caught.)
//! - A caller whose wait times out (a hang: say a rav1d worker was parked, and the decode
//!   waits for it forever) gets `IMAGE_DECODE` too; the thread is abandoned. If it ever
//!   finishes, its result is dropped and it stops counting as stuck.
//! - Parked and still-running abandoned threads are *stuck*. With [`MAX_STUCK`] of them,
//!   [`run`] refuses up front (`IMAGE_DECODE`, naming the reason) for the life of the process;
//!   the image route then serves the source bytes, as Next does when a decode fails.
//!
//! The cost of a parked thread is a leak, by design: its stack (8 MiB reserved, little of it
//! touched) and everything the decoder had allocated when it panicked, at most one decode at
//! the pixel limit (a 16-bit 4:4:4 frame at 268 Mpx is about 1.6 GB by itself; a 12 Mpx
//! photo's decode, tens of MB), plus the two rav1d workers of that decode, themselves parked or waiting. The cap
//! bounds the total to [`MAX_STUCK`] such decodes. Reaching it needs eight distinct rav1d
//! panics or hangs, i.e. a decoder bug someone is replaying: at that point serving AVIF
//! sources unoptimised is better than holding more memory.
//!
//! The hook is installed once, on the first contained run, and chains the hook that was set
//! before it. The one rule it imposes on the rest of the process: **do not call
//! `std::panic::set_hook` or `take_hook` after a contained panic.** std calls the hook under a
//! read lock on it, and a parked thread never releases that lock: a later `set_hook` waits
//! forever, and so, since the lock then lets no new reader in, does every later panic. Nothing
//! the addon links sets a hook (only zerocopy's own tests do). libtest does, when its run ends: a test binary in
//! which a panic was contained hangs there instead of exiting (tests/contain.rs therefore runs
//! each scenario in a child process that exits by itself, and tests/avif.rs exits with a failure
//! as soon as [`faults`] is not zero). A fuzzer's hook (libfuzzer-sys aborts in it) still sees
//! every contained panic, since the previous hook is called before parking.
//!
//! Not contained, because they are not panics: rav1d's `abort()` in two task states it holds
//! unreachable, allocation failure (Rust aborts on it), stack overflow, and memory faults in
//! rav1d's assembly. The same is true of C dav1d inside sharp; only a separate process would
//! contain those.

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe, PanicHookInfo};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, RecvTimeoutError};
use std::sync::{Arc, Once};
use std::time::Duration;

use crate::ImageError;

/// Stuck threads (parked, or abandoned and still running) at which [`run`] refuses.
pub const MAX_STUCK: usize = 8;

/// A decode thread's stack: as much as a libuv or main thread has, where decoding ran before.
const STACK_SIZE: usize = 8 << 20;

/// rav1d 1.1.0 names its worker threads `rav1d-worker-{n}` (src/lib.rs, `rav1d_open`).
const RAV1D_WORKER: &str = "rav1d-worker-";

const RUNNING: u8 = 0;
const DONE: u8 = 1;
const ABANDONED: u8 = 2;
const PARKED: u8 = 3;

static STUCK: AtomicUsize = AtomicUsize::new(0);
static PANICKED: AtomicUsize = AtomicUsize::new(0);
static TIMED_OUT: AtomicUsize = AtomicUsize::new(0);
static WORKERS_PARKED: AtomicUsize = AtomicUsize::new(0);

/// What containment has done in this process so far ([`faults`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Faults {
  /// Decode threads parked after a panic inside the decoder.
  pub panicked: usize,
  /// rav1d worker threads parked after a panic.
  pub workers_parked: usize,
  /// Decodes whose caller stopped waiting after the timeout.
  pub timed_out: usize,
  /// Decode threads parked or abandoned and still running; [`run`] refuses at [`MAX_STUCK`].
  pub stuck: usize,
}

/// What containment has done in this process so far. All zero unless the AV1 decoder has
/// panicked or hung; a fuzz target can assert that after each input.
pub fn faults() -> Faults {
  Faults {
    panicked: PANICKED.load(Ordering::SeqCst),
    workers_parked: WORKERS_PARKED.load(Ordering::SeqCst),
    timed_out: TIMED_OUT.load(Ordering::SeqCst),
    stuck: STUCK.load(Ordering::SeqCst),
  }
}

/// The running job of a contained thread, for the panic hook.
struct Job {
  format: &'static str,
  decoder: &'static str,
  state: Arc<AtomicU8>,
  /// Sends `Err(e)` to the caller.
  answer: Box<dyn FnOnce(ImageError) + Send>,
}

thread_local! {
  static JOB: RefCell<Option<Job>> = const { RefCell::new(None) };
  /// How many [`foreign`] calls this thread is inside.
  static IN_FOREIGN: Cell<u32> = const { Cell::new(0) };
}

/// Runs `f` on a new thread and waits at most `timeout` for its result. `format` and
/// `decoder` name the failure ("AVIF", "the AV1 decoder"). Every foreign call `f` makes must
/// go through [`foreign`]. A panic in `f` outside [`foreign`] unwinds and becomes
/// `IMAGE_DECODE`, as [`crate::decode`] does for other decoders.
pub fn run<T, F>(
  format: &'static str,
  decoder: &'static str,
  timeout: Duration,
  f: F,
) -> Result<T, ImageError>
where
  T: Send + 'static,
  F: FnOnce() -> Result<T, ImageError> + Send + 'static,
{
  let stuck = STUCK.load(Ordering::SeqCst);
  if stuck >= MAX_STUCK {
    return Err(ImageError::decode(
      format,
      format!(
        "{format} decoding is off in this process: {decoder} panicked or hung in {stuck} \
         decodes, whose threads are kept with their memory (the limit is {MAX_STUCK}); \
         restart the process to decode {format} again"
      ),
    ));
  }
  install_hook();
  let (tx, rx) = sync_channel::<Result<T, ImageError>>(1);
  let state = Arc::new(AtomicU8::new(RUNNING));
  let job = {
    let tx = tx.clone();
    Job {
      format,
      decoder,
      state: state.clone(),
      answer: Box::new(move |e| {
        let _ = tx.send(Err(e));
      }),
    }
  };
  let thread_state = state.clone();
  let spawned = std::thread::Builder::new()
    .name(format!("next-native-{}", format.to_ascii_lowercase()))
    .stack_size(STACK_SIZE)
    .spawn(move || {
      JOB.with(|j| *j.borrow_mut() = Some(job));
      let result = catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Err(ImageError::decode(
          format,
          "decoder panicked on malformed data",
        ))
      });
      JOB.with(|j| j.borrow_mut().take());
      match thread_state.compare_exchange(RUNNING, DONE, Ordering::SeqCst, Ordering::SeqCst) {
        Ok(_) => {
          let _ = tx.send(result);
        }
        // The caller gave up on us and counted us stuck; we are not any more.
        Err(ABANDONED) => {
          STUCK.fetch_sub(1, Ordering::SeqCst);
        }
        Err(_) => {}
      }
    });
  if let Err(e) = spawned {
    return Err(ImageError::decode(
      format,
      format!("could not start a decoder thread: {e}"),
    ));
  }
  match rx.recv_timeout(timeout) {
    Ok(result) => result,
    Err(RecvTimeoutError::Timeout) => {
      match state.compare_exchange(RUNNING, ABANDONED, Ordering::SeqCst, Ordering::SeqCst) {
        Ok(_) => {
          STUCK.fetch_add(1, Ordering::SeqCst);
          TIMED_OUT.fetch_add(1, Ordering::SeqCst);
          Err(ImageError::decode(
            format,
            format!("{decoder} did not finish within {timeout:?}; its thread is abandoned"),
          ))
        }
        // Finished (or panicked) just now: its answer is being sent.
        Err(_) => rx.recv().unwrap_or_else(|_| Err(lost(format, decoder))),
      }
    }
    Err(RecvTimeoutError::Disconnected) => Err(lost(format, decoder)),
  }
}

fn lost(format: &'static str, decoder: &'static str) -> ImageError {
  ImageError::decode(format, format!("{decoder} ended without an answer"))
}

/// Calls foreign (`extern "C"`) code from inside [`run`]: a panic in `f` is answered and its
/// thread parked instead of unwinding into the `extern "C"` frame. Outside [`run`] it only
/// calls `f` (a panic there aborts, as any panic in `extern "C"` does).
pub fn foreign<R>(f: impl FnOnce() -> R) -> R {
  struct Depth;
  impl Drop for Depth {
    fn drop(&mut self) {
      IN_FOREIGN.with(|d| d.set(d.get() - 1));
    }
  }
  debug_assert!(
    JOB.with(|j| j.borrow().is_some()),
    "contain::foreign outside contain::run"
  );
  IN_FOREIGN.with(|d| d.set(d.get() + 1));
  let _depth = Depth;
  f()
}

enum Contained {
  /// A [`run`] thread inside [`foreign`], with its job.
  Job(Job),
  /// A rav1d worker thread.
  Worker,
}

/// Whether a panic on the current thread must be contained. Never panics (the hook calls it).
fn contained_here() -> Option<Contained> {
  let in_foreign = IN_FOREIGN.try_with(|d| d.get() > 0).ok()?;
  if in_foreign {
    let job = JOB
      .try_with(|j| j.try_borrow_mut().ok().and_then(|mut j| j.take()))
      .ok()
      .flatten();
    if let Some(job) = job {
      return Some(Contained::Job(job));
    }
  }
  let worker = std::thread::current()
    .name()
    .is_some_and(|n| n.starts_with(RAV1D_WORKER));
  worker.then_some(Contained::Worker)
}

type Hook = Box<dyn Fn(&PanicHookInfo<'_>) + Sync + Send + 'static>;

fn install_hook() {
  static ONCE: Once = Once::new();
  ONCE.call_once(|| {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| match contained_here() {
      Some(contained) => park(contained, info, &previous),
      None => previous(info),
    }));
  });
}

/// The hook's answer to a contained panic: count, answer the caller, log, park. Must not
/// panic: a panic inside the hook aborts.
fn park(contained: Contained, info: &PanicHookInfo<'_>, previous: &Hook) -> ! {
  match contained {
    Contained::Job(job) => {
      // Counted before the caller hears of it, so its next call sees the count.
      if job
        .state
        .compare_exchange(RUNNING, PARKED, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok()
      {
        STUCK.fetch_add(1, Ordering::SeqCst);
      }
      PANICKED.fetch_add(1, Ordering::SeqCst);
      let message = match (
        info.payload().downcast_ref::<&str>(),
        info.payload().downcast_ref::<String>(),
      ) {
        (Some(s), _) => s,
        (_, Some(s)) => s.as_str(),
        _ => "a panic without a message",
      };
      (job.answer)(ImageError::decode(
        job.format,
        format!("{} panicked: {message}", job.decoder),
      ));
    }
    Contained::Worker => {
      WORKERS_PARKED.fetch_add(1, Ordering::SeqCst);
    }
  }
  previous(info);
  loop {
    std::thread::park();
  }
}
