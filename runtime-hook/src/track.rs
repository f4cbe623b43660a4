//! Shared acquisition logic for the wrappers: try first, publish the wait
//! only if the lock is busy, then record the hold.

#![cfg_attr(not(feature = "parking_lot"), allow(dead_code))]

use std::panic::Location;
use std::time::Instant;

use crate::rt::{self, HeldToken, LockMeta, WaitKind};
use crate::wire::Mode;

type Site = &'static Location<'static>;

/// Blocking acquisition.
#[inline]
pub(crate) fn acquire<G>(
    meta: &LockMeta,
    mode: Mode,
    site: Site,
    kind: WaitKind,
    try_: impl FnOnce() -> Option<G>,
    block: impl FnOnce() -> G,
) -> (G, HeldToken) {
    if !rt::enabled() {
        return (block(), 0);
    }
    acquire_on(meta, mode, site, kind, try_, block)
}

/// [`acquire`] when the caller already knows the hook is on.
#[inline(always)]
pub(crate) fn acquire_on<G>(
    meta: &LockMeta,
    mode: Mode,
    site: Site,
    kind: WaitKind,
    try_: impl FnOnce() -> Option<G>,
    block: impl FnOnce() -> G,
) -> (G, HeldToken) {
    match try_() {
        Some(g) => (g, rt::acquired(meta, mode, site, None)),
        None => blocking(meta, mode, site, kind, block),
    }
}

/// The lock was busy: publish the wait, block, record the hold. Out of
/// line, so that the inlined fast path stays small at every call site.
#[cold]
#[inline(never)]
pub(crate) fn blocking<G>(meta: &LockMeta, mode: Mode, site: Site, kind: WaitKind, block: impl FnOnce() -> G) -> (G, HeldToken) {
    let w = rt::begin_wait(meta, mode, site, kind);
    let g = block();
    let waited = rt::end_wait(w);
    (g, rt::acquired(meta, mode, site, waited))
}

/// Non-blocking attempt.
#[inline]
pub(crate) fn try_acquire<G>(meta: &LockMeta, mode: Mode, site: Site, try_: impl FnOnce() -> Option<G>) -> Option<(G, HeldToken)> {
    if !rt::enabled() {
        return try_().map(|g| (g, 0));
    }
    match try_() {
        Some(g) => Some((g, rt::acquired(meta, mode, site, None))),
        None => {
            rt::try_failed(meta, mode, site);
            None
        }
    }
}

/// Attempt with a deadline (`try_*_for` / `try_*_until`): a timed wait in
/// the wait-for graph.
#[inline]
pub(crate) fn acquire_until<G>(
    meta: &LockMeta,
    mode: Mode,
    site: Site,
    deadline: Option<Instant>,
    try_: impl FnOnce() -> Option<G>,
    timed: impl FnOnce() -> Option<G>,
) -> Option<(G, HeldToken)> {
    if !rt::enabled() {
        return timed().map(|g| (g, 0));
    }
    if let Some(g) = try_() {
        return Some((g, rt::acquired(meta, mode, site, None)));
    }
    if deadline.is_some_and(|d| d <= Instant::now()) {
        rt::try_failed(meta, mode, site);
        return None;
    }
    let w = rt::begin_wait(meta, mode, site, WaitKind::Timed);
    let g = timed();
    let waited = rt::end_wait(w);
    match g {
        Some(g) => Some((g, rt::acquired_waited(meta, mode, site, waited))),
        None => {
            rt::wait_timed_out(meta, mode, site, waited);
            None
        }
    }
}

/// The guard's lock changed mode without being released (upgrade,
/// downgrade): move the hold from `old` to `mode`.
#[inline]
pub(crate) fn rehold(meta: &LockMeta, old: HeldToken, mode: Mode, site: Site, waited: Option<u64>) -> HeldToken {
    if old == 0 {
        return 0;
    }
    rt::released(old);
    if rt::enabled() {
        rt::acquired(meta, mode, site, waited)
    } else {
        0
    }
}
