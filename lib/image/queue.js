'use strict'

// The concurrency bound on native encodes. Stands in for what sharp's thread pool does in
// `server/image-optimizer/transform.js` `getSharp` (`sharp.concurrency(...)`): at most
// `size` jobs run at once, the rest wait in arrival order. Refuses nothing (config.js
// checks `concurrency`); a job's rejection is passed on to its caller.
//
// This is where the handler's `concurrency` option applies, and the only place: a request
// waits here, in JS, holding no libuv thread (file reads and DNS lookups share that pool), and
// its encode is handed to the binding only once a slot is free, so a timed-out or aborted
// request that never got a slot never starts. `optimizeImage` takes no concurrency option.
// Not yet single: the image crate's gate (crates/image/src/gate.rs) still admits at most
// one `optimize` per core, process-wide, so a `concurrency` above the core count is capped
// there; it is to bound bytes instead of jobs (issue #14, owned with that crate).

/** Runs at most `size` jobs at once; the rest wait in arrival order. */
class Queue {
  constructor(size) {
    this.size = size
    this.running = 0
    this.waiting = []
  }
  async run(job) {
    if (this.running >= this.size) await new Promise((resolve) => this.waiting.push(resolve))
    this.running++
    try {
      return await job()
    } finally {
      this.running--
      this.waiting.shift()?.()
    }
  }
}

module.exports = { Queue }
