//! Shared acquisition logic for the wrappers: try first, publish the wait
//! only if the lock is busy, then record the hold.

#![cfg_attr(not(feature = "parking_lot"), allow(dead_code))]

use std::panic::Location;
use std::time::Instant;

use crate::rt::{self, HeldToken, LockMeta, WaitKind};
use crate::wire::Mode;

type Site = &'static Location<'static>;

/// Rounds of spinning before a busy lock's wait is published: 1, 2, 4 …
/// spin-loop hints with a try after each round, 63 hints in all (about
/// 1 µs, a bit less than std's mutex spins before it parks).
const SPIN_ROUNDS: u32 = 6;

/// Blocking acquisition. Always inlined: only the hook check, one attempt
/// and the common case of [`rt::acquired`] are at the call site.
#[inline(always)]
pub(crate) fn acquire<G>(
    meta: &LockMeta,
    mode: Mode,
    site: Site,
    kind: WaitKind,
    try_: impl FnMut() -> Option<G>,
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
    mut try_: impl FnMut() -> Option<G>,
    block: impl FnOnce() -> G,
) -> (G, HeldToken) {
    match try_() {
        Some(g) => (g, rt::acquired(meta, mode, site, None)),
        None => blocking(meta, mode, site, kind, try_, block),
    }
}

/// The lock was busy. First spin briefly, as the locks themselves do before
/// they park: a lock freed within the spin is taken without any of the
/// wait's costs (event, wait-for graph, registry read, allocation) and
/// counts as uncontended, so that `contended` counts exactly the waits
/// that were published. Then publish the wait, block, record the hold.
/// Out of line, so that the inlined fast path stays small at every call
/// site.
#[cold]
#[inline(never)]
pub(crate) fn blocking<G>(
    meta: &LockMeta,
    mode: Mode,
    site: Site,
    kind: WaitKind,
    mut try_: impl FnMut() -> Option<G>,
    block: impl FnOnce() -> G,
) -> (G, HeldToken) {
    for round in 0..SPIN_ROUNDS {
        for _ in 0..1u32 << round {
            std::hint::spin_loop();
        }
        if let Some(g) = try_() {
            return (g, rt::acquired(meta, mode, site, None));
        }
    }
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
