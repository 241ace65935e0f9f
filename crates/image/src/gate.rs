//! The process-wide bound on concurrent optimizations: a counting semaphore sized to the
//! cores. Callers beyond it wait (in arrival order as far as the OS scheduler allows) before
//! allocating any pixel buffer, so a burst of large requests costs at most `limit` decoded
//! images of memory at a time, not one per waiting thread.

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

/// The gate every [`crate::optimize`] call passes, sized to `available_parallelism()`.
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
}
