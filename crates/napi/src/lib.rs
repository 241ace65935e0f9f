//! Node-API binding for `@rs/next-native`. This crate only converts types, maps errors to
//! stable `ERR_*` codes and schedules background work; every behaviour lives in the core
//! crates under `crates/`, which know nothing about JS.
//!
//! Rules every export follows:
//! - it goes through [`error::run_sync`] or [`task::Job`], so a Rust panic becomes a JS
//!   `Error` with `code: 'ERR_NATIVE_PANIC'` instead of aborting Node;
//! - CPU-heavy calls come as an async function (libuv pool) plus a `...Sync` twin;
//! - async inputs are copied before dispatch, never read from JS memory off-thread;
//! - arguments napi-rs would convert without naming them or checking numbers are taken as
//!   `Unknown` and converted by [`args`], so a bad one is an `ERR_INVALID_ARG_TYPE` /
//!   `ERR_INVALID_ARG_VALUE` `TypeError` that names it (`#[napi(ts_arg_type)]` keeps the
//!   declared types in `index.d.ts`).
//!
//! Native dependency: mimalloc (the `mimalloc` crate, MIT, Microsoft's allocator built with cc;
//! node-rs, rolldown and oxc ship it the same way) is the addon's global allocator. With glibc malloc, memory freed
//! after a call on Node's main thread is trimmed back to the OS and page-faulted in again on
//! the next call: loading a 2,000-line env file with 8 MB of values took 6 ms instead of 1.3 ms.
//! It also avoids glibc arena fragmentation, a known cause of RSS growth in image servers.

// napi-derive registers `#[napi]` exports only under `cfg(not(test))`, so in `cargo test` every
// export and the types only they use look unused.
#![cfg_attr(test, allow(dead_code))]

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod args;
mod build_id;
mod cache;
mod env;
mod error;
mod image;
mod info;
mod task;
