'use strict'

// The concurrency bound on native encodes. Stands in for what sharp's thread pool does in
// `server/image-optimizer/transform.js` `getSharp` (`sharp.concurrency(...)`): at most
// `size` jobs run at once, the rest wait in arrival order. Refuses nothing (config.js
// checks `concurrency`); a job's rejection is passed on to its caller.

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
