//! The process-wide bound on concurrent optimizations: a counting semaphore sized to the
//! cores. Callers beyond it wait (in arrival order as far as the OS scheduler allows) before
//! allocating any pixel buffer, so a burst of large requests costs at most `limit` decoded
//! images of memory at a time, not one per waiting thread.
//!
//! It bounds the callers that bound nothing themselves: [`crate::optimize`] as a library call
//! (`optimizeImage` used on its own). A caller with its own bound sets
//! [`OptimizeOptions::gate`](crate::OptimizeOptions::gate) to `false` and is limited by that
//! bound only: the image route's queue (`lib/image/queue.js`, the handler's `concurrency`),
//! which would otherwise be capped here at the core count as well.

use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError};

pub(crate) struct Gate {
  limit: usize,
  busy: Mutex<usize>,
  freed: Condvar,
}

/// Held while one optimization runs; dropping it lets the next caller in.
pub(crate) struct Permit<'a>(&'a Gate);

impl Gate {
  pub(crate) fn new(limit: usize) -> Self {
    Gate {
      limit: limit.max(1),
      busy: Mutex::new(0),
      freed: Condvar::new(),
    }
  }

  fn lock(&self) -> MutexGuard<'_, usize> {
    // The counter stays consistent even if a holder panicked (Permit::drop still runs).
    self.busy.lock().unwrap_or_else(PoisonError::into_inner)
  }

  pub(crate) fn enter(&self) -> Permit<'_> {
    let mut busy = self.lock();
    while *busy >= self.limit {
      busy = self
        .freed
        .wait(busy)
        .unwrap_or_else(PoisonError::into_inner);
    }
    *busy += 1;
    Permit(self)
  }
}

impl Drop for Permit<'_> {
  fn drop(&mut self) {
    *self.0.lock() -= 1;
    self.0.freed.notify_one();
  }
}

/// The gate every gated [`crate::optimize`] call passes, sized to `available_parallelism()`.
pub(crate) fn global() -> &'static Gate {
  static GATE: OnceLock<Gate> = OnceLock::new();
  GATE.get_or_init(|| Gate::new(std::thread::available_parallelism().map_or(1, |n| n.get())))
}

#[cfg(test)]
mod tests {
  use std::sync::atomic::{AtomicUsize, Ordering};
  use std::sync::Arc;
  use std::time::Duration;

  use super::*;

  #[test]
  fn never_more_than_limit_inside_and_everyone_gets_in() {
    let gate = Arc::new(Gate::new(3));
    let inside = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..12)
      .map(|_| {
        let (gate, inside, peak, done) = (gate.clone(), inside.clone(), peak.clone(), done.clone());
        std::thread::spawn(move || {
          let _permit = gate.enter();
          let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
          peak.fetch_max(now, Ordering::SeqCst);
          std::thread::sleep(Duration::from_millis(20));
          inside.fetch_sub(1, Ordering::SeqCst);
          done.fetch_add(1, Ordering::SeqCst);
        })
      })
      .collect();
    for t in threads {
      t.join().unwrap();
    }
    assert_eq!(done.load(Ordering::SeqCst), 12);
    assert_eq!(peak.load(Ordering::SeqCst), 3);
  }

  #[test]
  fn a_panicking_holder_releases_its_permit() {
    let gate = Arc::new(Gate::new(1));
    let g = gate.clone();
    let _ = std::thread::spawn(move || {
      let _permit = g.enter();
      panic!("holder fails");
    })
    .join();
    let _again = gate.enter(); // would block forever if the permit leaked
  }

  /// A 4×4 PNG.
  fn png() -> Vec<u8> {
    let mut out = Vec::new();
    image::RgbImage::from_pixel(4, 4, image::Rgb([200, 10, 10]))
      .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
      .unwrap();
    out
  }

  #[test]
  fn an_ungated_optimize_does_not_wait_on_a_full_gate_and_a_gated_one_does() {
    let run = |gate: bool| {
      let (tx, rx) = std::sync::mpsc::channel();
      std::thread::spawn(move || {
        let mut opts = crate::OptimizeOptions::new(2, crate::OutputFormat::Png);
        opts.gate = gate;
        let _ = tx.send(crate::optimize(&png(), &opts).map(|o| o.width));
      });
      rx
    };
    let full = global();
    let permits: Vec<_> = (0..full.limit).map(|_| full.enter()).collect();
    let ungated = run(false);
    assert_eq!(ungated.recv_timeout(Duration::from_secs(60)), Ok(Ok(2)));
    let gated = run(true);
    assert!(gated.recv_timeout(Duration::from_millis(300)).is_err());
    drop(permits);
    assert_eq!(gated.recv_timeout(Duration::from_secs(60)), Ok(Ok(2)));
  }
}
