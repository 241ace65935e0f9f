//! Node-API binding for `@rs/next-native`. This crate only converts types, maps errors to
//! stable `ERR_*` codes and schedules background work; every behaviour lives in the core
//! crates under `crates/`, which know nothing about JS.
//!
//! Rules every export follows:
//! - it goes through [`error::run_sync`] or [`task::Job`], so a Rust panic becomes a JS
//!   `Error` with `code: 'ERR_NATIVE_PANIC'` instead of aborting Node;
//! - CPU-heavy calls come as an async function (libuv pool) plus a `...Sync` twin;
//! - async inputs are copied before dispatch, never read from JS memory off-thread.

mod build_id;
mod error;
mod info;
mod task;
