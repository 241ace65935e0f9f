'use strict'

// The concurrency bound on native encodes. Stands in for what sharp's thread pool does in
// `server/image-optimizer/transform.js` `getSharp` (`sharp.concurrency(...)`): at most
// `size` jobs run at once, the rest wait in arrival order. Refuses nothing (config.js
// checks `concurrency`); a job's rejection is passed on to its caller.
//
// This is where the handler's `concurrency` option applies, and the only place: a request
// waits here, in JS, holding no libuv thread (file reads and DNS lookups share that pool), and
// its encode is handed to the binding only once a slot is free, so a timed-out or aborted
// request that never got a slot never starts. `optimizeImage` takes no concurrency option;
// transform.js passes it `gate: false`, so the image crate's process-wide gate
// (crates/image/src/gate.rs, one optimization per core), which bounds direct library calls,
// does not apply to the route's calls as well: a `concurrency` above the core count is used
// as given.

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
