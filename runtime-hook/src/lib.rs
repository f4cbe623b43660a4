//! Lock types that tell you what your locks are doing, live.
//!
//! `locklens` provides drop-in replacements for the lock types of
//! [`std::sync`], [`parking_lot`](https://docs.rs/parking_lot) and
//! [`tokio::sync`](https://docs.rs/tokio). They behave exactly like the
//! types they wrap. When the LockLens editor extension or CLI runs your
//! program with `LOCKLENS_ENDPOINT` and `LOCKLENS_TOKEN` set, they also
//! stream what happens to a local listener:
//!
//! * **contended waits**: who waits for which lock, who holds it, from
//!   which source line and since when;
//! * **lock-order edges** (lockdep style): "`A` was held while `B` was
//!   acquired", each pair of lock classes once, with both sites;
//! * **lock-order inversions**: as soon as those edges form a cycle (`A`
//!   before `B` on one path, `B` before `A` on another), with every edge's
//!   sites: the deadlock that has not happened yet;
//! * **deadlocks**: wait-for cycles between threads, including a thread
//!   waiting for a lock it already holds (the `if let ... = lock.read()`
//!   / `else { lock.write() }` trap), found in-process within one scan and
//!   printed to stderr as well;
//! * **stalls**: a wait longer than `LOCKLENS_STALL_MS` (default 1000),
//!   with the current holders and the last acquirer of the lock;
//! * **counters and timings** per lock class and acquisition site, every
//!   100 ms.
//!
//! Without the two variables every operation costs one relaxed atomic load
//! more than the wrapped lock, and nothing else happens: no thread, no
//! socket, no allocation.
//!
//! # Migrating
//!
//! ```
//! // was: use std::sync::{Arc, Mutex, RwLock};
//! use locklens::sync::{Arc, Mutex, RwLock};
//!
//! static CATALOG: RwLock<Vec<String>> = RwLock::new(Vec::new());
//! let counter = Arc::new(Mutex::named("requests", 0u64));
//! *counter.lock().unwrap() += 1;
//! CATALOG.write().unwrap().push("app".into());
//! assert_eq!(CATALOG.read().unwrap().len(), 1);
//! ```
//!
//! To track only debug builds, use [`debug_sync`]: it is [`sync`] with
//! `debug_assertions` and plain `std::sync` otherwise.
//!
//! # Lock classes and sites
//!
//! Every lock belongs to a *class*: its creation site (`new` is
//! `#[track_caller]`, and still `const`) or an explicit name given with
//! `named("catalog.load", value)`. Order edges and counters are per class,
//! so a thousand per-connection mutexes created on one line form one class.
//! Every acquisition records its own call site, the thread (LockLens
//! number, name, OS tid) and the mode (`mutex`, `read`, `write`,
//! `upgradable`, `reentrant`).
//!
//! # Environment
//!
//! | variable | meaning |
//! | --- | --- |
//! | `LOCKLENS_ENDPOINT` | `tcp://127.0.0.1:PORT` (also `[::1]`, `localhost`); anything not loopback is refused with one line on stderr |
//! | `LOCKLENS_TOKEN` | sent in the hello line; both must be set to turn the hook on |
//! | `LOCKLENS_STALL_MS` | stall threshold, default 1000 |
//! | `LOCKLENS_ON_DEADLOCK` | `report` (default): report and keep waiting; `abort`: report, then abort the process |
//! | `LOCKLENS_SAMPLE` | one in N acquisitions of each (lock class, site, mode) per thread, starting with the first, has its hold time measured; default 64, rounded up to a power of two |
//! | `LOCKLENS_QUEUE` | event queue capacity, default 4096 |
//! | `RUST_BACKTRACE` | when set (not `0`), waiting threads capture a backtrace that deadlock reports include |
//!
//! The wire format is documented in `docs/protocol.md` ("Runtime hook wire
//! format").
//!
//! # Programmatic control
//!
//! * [`start`] turns the hook on with a [`Config`] instead of the
//!   environment (before the first lock operation), [`disable`] keeps it
//!   off.
//! * [`status`] and [`wait_status`] report the connection, sent and dropped
//!   messages, deadlocks and stalls found.
//! * [`flush`] sends the latest counters and waits until everything queued
//!   so far is written: call it before a short-lived program exits.
//!
//! # Feature flags
//!
//! * `parking_lot`: module `locklens::parking_lot` with
//!   `Mutex`, `RwLock` (including `upgradable_read` with `upgrade` /
//!   `downgrade`, `read_recursive`, timed `try_*_for` / `try_*_until`),
//!   `ReentrantMutex` and `Condvar` wrapping parking_lot 0.12. Timed waits
//!   are part of the wait-for graph; a cycle through one is reported as
//!   `timed` and never aborts.
//! * `tokio`: module `locklens::tokio` with async `Mutex` and
//!   `RwLock` wrapping `tokio::sync` (only tokio's `sync` feature is
//!   enabled). Waiters and holders are tasks: they are reported with the
//!   thread that polled them, and take part in contention events, stalls
//!   and counters, but not in the thread wait-for graph.
//!
//! No feature is enabled by default; the core depends on `std` only.
//!
//! # Performance
//!
//! * **Off** (no environment): one relaxed load of a global state byte per
//!   lock operation plus a branch in the guard's `Drop`. The first
//!   operation reads the environment once.
//! * **On, uncontended**: no shared write besides the lock's own "last
//!   acquirer" words, kept next to the lock word. The held-lock stack and
//!   the per-site counters live in a per-thread block written with plain
//!   relaxed stores; the background thread reads them for snapshots. Hold
//!   times are measured on one acquisition in `LOCKLENS_SAMPLE` of each
//!   site (a clock read costs several times an uncontended lock), decided
//!   by the site's counter itself. The inlined part of an acquisition is
//!   only its common case (at most one other lock held, its order pair and
//!   counter slot seen before); everything else is one out-of-line call.
//!   A guard knows its slot
//!   in the held stack, so releasing the innermost lock is one compare and
//!   one store. A lock-order edge costs one compare per held lock against
//!   that slot's memo of the last pair checked from it, then a lookup in a
//!   small per-thread cache; only a pair new to the thread takes a global
//!   lock.
//! * **On, contended**: a busy lock is first retried for about a
//!   microsecond, as std's and parking_lot's locks spin before they park,
//!   with no bookkeeping at all (a lock freed within that spin counts as
//!   an uncontended acquisition, so that `contended` and `wait` events
//!   correspond one to one). Only then does the thread timestamp the wait,
//!   publish it for the wait-for graph, build a `wait` event from one pass
//!   over the registered threads and, only if a holder is itself waiting
//!   (or is this thread), capture the graph and look for a cycle. Guards
//!   release the lock *before* their bookkeeping, so critical sections do
//!   not get longer.
//! * The program never waits for LockLens: events go through a bounded
//!   queue (drops are counted and reported in the next snapshot), the
//!   socket belongs to a background thread, writes time out, and if the
//!   listener cannot be reached after a few attempts the hook switches
//!   itself off.
//!
//! On a 2-core AMD EPYC VM (`runtime-hook/BENCHMARKS-hook.md`,
//! `scripts/bench.sh`): off, an uncontended lock+unlock costs what std's
//! does (1.0x); on, 1.13x std's (1.35x while another lock is held), 55-60
//! instructions of bookkeeping without atomic read-modify-writes: less
//! than parking_lot with its `deadlock_detection` feature (0.77x
//! uncontended, 0.95x while another lock is held). Sampled hold times are
//! read from the invariant TSC where the CPU has one. In a wait storm,
//! `wait` events that would not fit in the queue are not even built (they
//! are counted as dropped).

#![warn(missing_docs)]
#![allow(clippy::new_without_default)]

mod config;
mod json;
mod rt;
mod track;
pub mod sync;
mod transport;
#[doc(hidden)]
pub mod wire;

#[cfg(feature = "parking_lot")]
pub mod parking_lot;
#[cfg(feature = "tokio")]
pub mod tokio;

pub use config::{Config, OnDeadlock};
pub use rt::{disable, flush, start, status, wait_status, StartError, Status};

/// [`sync`] in debug builds, plain [`std::sync`] in release builds.
///
/// `use locklens::debug_sync::{Mutex, RwLock};` tracks locks while you
/// develop and compiles to the std types when `debug_assertions` is off.
/// Only the std-compatible API is portable across both: `Mutex::named`
/// exists in debug builds only.
#[cfg(debug_assertions)]
pub mod debug_sync {
    pub use crate::sync::*;
}

/// [`sync`] in debug builds, plain [`std::sync`] in release builds.
#[cfg(not(debug_assertions))]
pub mod debug_sync {
    pub use std::sync::*;
}

/// Is tracking currently on? (Reads the environment on first use.)
pub fn enabled() -> bool {
    rt::enabled()
}
