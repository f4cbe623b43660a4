//! The runtime: global on/off state, per-thread bookkeeping, lock classes,
//! lock-order edges, the wait-for graph and deadlock/stall detection.
//!
//! Hot-path rules: when the hook is off a lock operation costs one relaxed
//! load of [`STATE`]. When on, an uncontended acquisition touches only the
//! calling thread's own [`ThreadState`] (plain relaxed stores, no RMW, no
//! lock) and two fields of the lock. Everything else happens on the
//! contended (slow) path or on the background thread.

// Parts used only by the optional parking_lot / tokio wrappers.
#![cfg_attr(not(all(feature = "parking_lot", feature = "tokio")), allow(dead_code))]

use std::cell::Cell;
use std::collections::{HashMap, HashSet, VecDeque};
use std::panic::Location;
use std::ptr;
use std::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicU64, AtomicU8, AtomicUsize, Ordering::*};
use std::sync::mpsc;
use std::sync::{Arc, Condvar as StdCondvar, Mutex as StdMutex, MutexGuard as StdMutexGuard, Once, OnceLock, RwLock as StdRwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::config::{Config, OnDeadlock};
use crate::wire::{self, ClassRef, Kind, LockRef, Message, Mode, Site, SiteCounters, ThreadRef};

const UNINIT: u8 = 0;
const OFF: u8 = 1;
const ON: u8 = 2;

/// The global switch. `UNINIT` until the first lock operation (or
/// [`start`]) reads the configuration.
static STATE: AtomicU8 = AtomicU8::new(UNINIT);
static INIT: Once = Once::new();
static RT: OnceLock<Runtime> = OnceLock::new();
/// Milliseconds since the hook started, refreshed by the background thread
/// every snapshot interval; stamps holds. Written only by that thread, read
/// by every tracked acquisition: a static (no `RT` lookup on the fast path)
/// on a cache line of its own.
static COARSE_MS: CacheLine<AtomicU64> = CacheLine(AtomicU64::new(0));

/// Held locks tracked per thread; deeper nesting is not tracked.
pub(crate) const MAX_HELD: usize = 32;
/// Direct-mapped per-thread counter slots (power of two).
const STAT_SLOTS: usize = 64;
const STAT_PROBE: usize = 4;
/// Bits of a lock ident that hold the instance number.
const INSTANCE_BITS: u32 = 40;
const URGENT_CAP: usize = 256;

/// Is the hook on? One relaxed load once initialised.
#[inline(always)]
pub(crate) fn enabled() -> bool {
    match STATE.load(Relaxed) {
        ON => true,
        OFF => false,
        _ => init_from_env(),
    }
}

#[cold]
#[inline(never)]
fn init_from_env() -> bool {
    INIT.call_once(|| match Config::from_env() {
        Ok(Some(cfg)) => launch(cfg),
        Ok(None) => STATE.store(OFF, Relaxed),
        Err(msg) => {
            eprintln!("locklens: {msg}");
            STATE.store(OFF, Relaxed);
        }
    });
    STATE.load(Relaxed) == ON
}

/// Error of [`start`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartError {
    /// The hook was already initialised (from the environment by an earlier
    /// lock operation, or by an earlier `start`).
    AlreadyInitialized,
    /// The background thread could not be spawned.
    Spawn(String),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::AlreadyInitialized => f.write_str("locklens is already initialised"),
            StartError::Spawn(e) => write!(f, "locklens could not start its thread: {e}"),
        }
    }
}
impl std::error::Error for StartError {}

/// Turns the hook on with an explicit configuration instead of the
/// environment. Must be called before the first lock operation.
pub fn start(config: Config) -> Result<(), StartError> {
    let mut result = Err(StartError::AlreadyInitialized);
    INIT.call_once(|| {
        launch(config);
        result = if STATE.load(Relaxed) == ON {
            Ok(())
        } else {
            Err(StartError::Spawn("thread spawn failed".into()))
        };
    });
    result
}

/// Keeps the hook off for the rest of the process (if it was not already
/// initialised). Returns whether the hook is off.
pub fn disable() -> bool {
    INIT.call_once(|| STATE.store(OFF, Relaxed));
    STATE.load(Relaxed) != ON
}

/// Observable state of the hook, for tools and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Status {
    /// Lock operations are being tracked.
    pub enabled: bool,
    /// The background thread currently has a connection.
    pub connected: bool,
    /// Connections made so far.
    pub connects: u64,
    /// The listener could not be reached; the hook switched itself off.
    pub gave_up: bool,
    /// Lines written to the socket (hello lines included).
    pub sent: u64,
    /// Messages dropped (queue full, or lost with a broken connection).
    pub dropped: u64,
    /// Deadlocks found so far.
    pub deadlocks: u64,
    /// Stalls reported so far.
    pub stalls: u64,
}

/// Current [`Status`].
pub fn status() -> Status {
    match RT.get() {
        None => Status::default(),
        Some(rt) => {
            let mut s = rt.status_locked().clone();
            s.dropped = rt.dropped.load(Relaxed);
            s
        }
    }
}

/// Blocks until `pred(&status)` holds or `timeout` passes; returns the last
/// status seen and whether the predicate held. Useful to make sure the hook
/// is connected before a program proceeds.
pub fn wait_status(timeout: Duration, mut pred: impl FnMut(&Status) -> bool) -> (Status, bool) {
    let Some(rt) = RT.get() else {
        let s = Status::default();
        let ok = pred(&s);
        return (s, ok);
    };
    let deadline = Instant::now() + timeout;
    let mut g = rt.status_locked();
    loop {
        g.dropped = rt.dropped.load(Relaxed);
        if pred(&g) {
            return (g.clone(), true);
        }
        let now = Instant::now();
        if now >= deadline {
            return (g.clone(), false);
        }
        g = rt.status_cv.wait_timeout(g, deadline - now).unwrap_or_else(|e| e.into_inner()).0;
    }
}

/// Sends a snapshot with the latest counters now and waits until it and
/// every event queued before it are written (or `timeout` passes, or the
/// hook is not connected). Call before exiting to lose nothing. Returns
/// whether everything was written.
pub fn flush(timeout: Duration) -> bool {
    let Some(rt) = RT.get() else { return false };
    if STATE.load(Relaxed) != ON {
        return false;
    }
    let n = rt.flush_requested.fetch_add(1, SeqCst) + 1;
    // Through the queue, so that everything queued before is written first.
    // If the queue is full the transport sees the request on its next tick.
    rt.send(Item::Wake);
    wait_status(timeout, |s| rt.flush_done.load(SeqCst) >= n || s.gave_up || !s.enabled).1
        && rt.flush_done.load(SeqCst) >= n
}

fn launch(mut cfg: Config) {
    // sampling tests the low bits of a counter (see `ThreadState::sample_mask`)
    cfg.sample_every = sample_period(cfg.sample_every);
    let (tx, rx) = mpsc::sync_channel(cfg.queue_capacity);
    let start = Instant::now();
    let start_unix_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    let rt = Runtime {
        cfg,
        start,
        start_unix_ms,
        tx,
        urgent: StdMutex::new(VecDeque::new()),
        urgent_pushed: AtomicU64::new(0),
        urgent_written: AtomicU64::new(0),
        flush_requested: AtomicU64::new(0),
        flush_done: AtomicU64::new(0),
        status: StdMutex::new(Status { enabled: true, ..Status::default() }),
        status_cv: StdCondvar::new(),
        dropped: CacheLine(AtomicU64::new(0)),
        queued: CacheLine(AtomicUsize::new(0)),
        threads: StdRwLock::new(Vec::new()),
        next_thread: AtomicU64::new(1),
        classes: StdRwLock::new(ClassTable::default()),
        next_lock: AtomicU64::new(1),
        edges: StdMutex::new(EdgeGraph::default()),
        reported: StdMutex::new(HashSet::new()),
        async_waiters: StdMutex::new(HashMap::new()),
        next_async: AtomicU64::new(1),
        abort_after_write: AtomicBool::new(false),
        clock: SampleClock::new(start),
    };
    if RT.set(rt).is_err() {
        return;
    }
    let rt: &'static Runtime = RT.get().expect("just set");
    let spawned = std::thread::Builder::new().name("locklens-io".into()).spawn(move || {
        // A bug in the hook must not take the program down: switch off.
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| crate::transport::run(rt, rx)));
        if r.is_err() {
            switch_off();
            eprintln!("locklens: background thread failed; hook switched off");
            rt.update_status(|s| {
                s.enabled = false;
                s.connected = false;
                s.gave_up = true;
            });
        }
    });
    match spawned {
        Ok(_) => STATE.store(ON, Relaxed),
        Err(e) => {
            eprintln!("locklens: cannot spawn background thread ({e}); hook stays off");
            rt.status_locked().enabled = false;
            STATE.store(OFF, Relaxed);
        }
    }
}

/// `sample_every` rounded up to a power of two (at least 1).
pub(crate) fn sample_period(n: u32) -> u32 {
    n.max(1).checked_next_power_of_two().unwrap_or(1 << 31)
}

/// Called by the transport when it gives up: tracking stops.
pub(crate) fn switch_off() {
    STATE.store(OFF, Relaxed);
}

// ---------------------------------------------------------------------------
// Runtime

/// Aligns a value to its own cache line (no false sharing with the fields
/// around it).
#[repr(align(128))]
pub(crate) struct CacheLine<T>(pub(crate) T);

impl<T> std::ops::Deref for CacheLine<T> {
    type Target = T;
    #[inline(always)]
    fn deref(&self) -> &T {
        &self.0
    }
}

pub(crate) enum Item {
    /// Boxed: the channel preallocates `queue_capacity` slots.
    Msg(Box<Message>),
    /// Wakes the transport so it looks at the urgent queue.
    Wake,
}

pub(crate) struct Runtime {
    pub(crate) cfg: Config,
    pub(crate) start: Instant,
    pub(crate) start_unix_ms: u64,
    tx: mpsc::SyncSender<Item>,
    /// Deadlock and stall messages: never behind ordinary events.
    pub(crate) urgent: StdMutex<VecDeque<Message>>,
    urgent_pushed: AtomicU64,
    pub(crate) urgent_written: AtomicU64,
    /// `flush()` requests and the last one the transport completed.
    pub(crate) flush_requested: AtomicU64,
    pub(crate) flush_done: AtomicU64,
    status: StdMutex<Status>,
    pub(crate) status_cv: StdCondvar,
    pub(crate) dropped: CacheLine<AtomicU64>,
    /// Items in the queue (approximate): lets a wait storm skip building
    /// events that could not be queued anyway.
    pub(crate) queued: CacheLine<AtomicUsize>,
    /// Read on every contended wait, written when threads come and go.
    threads: StdRwLock<Vec<Arc<ThreadState>>>,
    next_thread: AtomicU64,
    /// Read when building events, written once per new class.
    classes: StdRwLock<ClassTable>,
    next_lock: AtomicU64,
    edges: StdMutex<EdgeGraph>,
    reported: StdMutex<HashSet<Vec<(u64, u64)>>>,
    /// Tasks waiting for tokio locks (not part of the thread wait-for graph).
    async_waiters: StdMutex<HashMap<u64, AsyncWaiter>>,
    next_async: AtomicU64,
    /// Set when the background thread itself found a deadlock in abort
    /// mode: it aborts after writing the report (it cannot wait for itself).
    pub(crate) abort_after_write: AtomicBool,
    /// The clock of sampled hold times.
    clock: SampleClock,
}

/// Clock of sampled hold times: the CPU's time-stamp counter where it is
/// invariant (x86_64 with the CPUID "invariant TSC" bit), read with one
/// `rdtsc` (about a third of a `clock_gettime` in a VM), converted to ns
/// with a ratio calibrated against [`Instant`] since the hook started
/// (refined by the background thread on every tick). Elsewhere it is
/// `Instant` itself. Readings are ticks since the hook started.
struct SampleClock {
    tsc0: u64,
    start: Instant,
    /// ns per tick as 32.32 fixed point; 0 = not calibrated yet.
    mult: AtomicU64,
}

impl SampleClock {
    fn new(start: Instant) -> SampleClock {
        let tsc0 = if tsc_usable() { rdtsc().max(1) } else { 0 };
        SampleClock { tsc0, start, mult: AtomicU64::new(0) }
    }

    /// Ticks since start (ns when there is no usable TSC).
    #[inline(always)]
    fn now(&self) -> u64 {
        if self.tsc0 != 0 {
            rdtsc().saturating_sub(self.tsc0)
        } else {
            self.start.elapsed().as_nanos() as u64
        }
    }

    /// Converts a tick count into ns.
    fn to_ns(&self, ticks: u64) -> u64 {
        if self.tsc0 == 0 {
            return ticks;
        }
        let mut m = self.mult.load(Relaxed);
        if m == 0 {
            m = self.calibrate();
        }
        ((ticks as u128 * m as u128) >> 32) as u64
    }

    /// Ratio of elapsed ns to elapsed ticks since start. Stored once the
    /// window is long enough for a precise ratio (1 ms: the two start
    /// readings are tens of ns apart), returned in any case.
    fn calibrate(&self) -> u64 {
        if self.tsc0 == 0 {
            return 0;
        }
        let ns = self.start.elapsed().as_nanos();
        let ticks = rdtsc().saturating_sub(self.tsc0).max(1) as u128;
        let m = ((ns << 32) / ticks).clamp(1, u64::MAX as u128) as u64;
        if ns >= 1_000_000 {
            self.mult.store(m, Relaxed);
        }
        m
    }
}

#[cfg(target_arch = "x86_64")]
#[allow(unused_unsafe)] // `__cpuid` is safe from Rust 1.87, unsafe before
fn tsc_usable() -> bool {
    use std::arch::x86_64::__cpuid;
    // SAFETY: CPUID is available on every x86_64 CPU.
    let max_ext = unsafe { __cpuid(0x8000_0000) }.eax;
    // invariant TSC: constant rate, runs in every C-state, synchronised
    // between cores
    max_ext >= 0x8000_0007 && unsafe { __cpuid(0x8000_0007) }.edx & (1 << 8) != 0
}

#[cfg(not(target_arch = "x86_64"))]
fn tsc_usable() -> bool {
    false
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn rdtsc() -> u64 {
    // SAFETY: RDTSC is available on every x86_64 CPU.
    unsafe { std::arch::x86_64::_rdtsc() }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn rdtsc() -> u64 {
    0
}

impl Runtime {
    pub(crate) fn ms(&self, t: Instant) -> u64 {
        t.saturating_duration_since(self.start).as_millis() as u64
    }

    pub(crate) fn now_ms(&self) -> u64 {
        self.ms(Instant::now())
    }

    /// Background thread only: refresh the coarse clock.
    pub(crate) fn tick_clock(&self) {
        COARSE_MS.store(self.now_ms(), Relaxed);
        self.clock.calibrate();
    }

    /// The sample part of a sampled hold's token (see [`HeldToken`]).
    #[inline]
    fn sample_token(&self) -> HeldToken {
        (self.clock.now() + 1).min(u64::MAX >> TOKEN_POS_BITS) << TOKEN_POS_BITS
    }

    /// ns since the sampled hold with token `token` began.
    fn sampled_hold_ns(&self, token: HeldToken) -> u64 {
        self.clock.to_ns((self.clock.now() + 1).saturating_sub(token >> TOKEN_POS_BITS))
    }

    fn edges_locked(&self) -> StdMutexGuard<'_, EdgeGraph> {
        self.edges.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn status_locked(&self) -> StdMutexGuard<'_, Status> {
        self.status.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn update_status(&self, f: impl FnOnce(&mut Status)) {
        let mut s = self.status_locked();
        f(&mut s);
        s.dropped = self.dropped.load(Relaxed);
        drop(s);
        self.status_cv.notify_all();
    }

    /// Queue an ordinary event; never blocks.
    pub(crate) fn emit(&self, m: Message) {
        if !self.send(Item::Msg(Box::new(m))) {
            self.dropped.fetch_add(1, Relaxed);
        }
    }

    /// Non-blocking send that keeps `queued` in step: counted *before* the
    /// send, so the transport's decrement can never come first.
    fn send(&self, item: Item) -> bool {
        self.queued.fetch_add(1, Relaxed);
        if self.tx.try_send(item).is_ok() {
            true
        } else {
            self.queued.fetch_sub(1, Relaxed);
            false
        }
    }

    /// The event queue is (about) full: an event built now would be dropped.
    #[inline]
    pub(crate) fn queue_full(&self) -> bool {
        self.queued.load(Relaxed) >= self.cfg.queue_capacity
    }

    /// Queue a deadlock/stall message ahead of ordinary events.
    pub(crate) fn emit_urgent(&self, m: Message) -> u64 {
        let mut q = self.urgent.lock().unwrap_or_else(|e| e.into_inner());
        if q.len() >= URGENT_CAP {
            self.dropped.fetch_add(1, Relaxed);
            return self.urgent_pushed.load(Relaxed);
        }
        q.push_back(m);
        let n = self.urgent_pushed.fetch_add(1, SeqCst) + 1;
        drop(q);
        self.send(Item::Wake);
        n
    }

    /// Waits (bounded) until urgent message number `n` has been written, or
    /// the transport is not connected.
    fn flush_urgent(&self, n: u64, timeout: Duration) {
        wait_status(timeout, |s| !s.enabled || s.gave_up || self.urgent_written.load(SeqCst) >= n);
    }

    pub(crate) fn thread_list(&self) -> Vec<Arc<ThreadState>> {
        self.threads.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Removes exited threads, handing them to `fold` first.
    pub(crate) fn retire_dead(&self, mut fold: impl FnMut(&ThreadState)) {
        let mut ts = self.threads.write().unwrap_or_else(|e| e.into_inner());
        ts.retain(|t| {
            if t.alive.load(Acquire) {
                true
            } else {
                fold(t);
                false
            }
        });
    }

    pub(crate) fn class_ref(&self, class: u64) -> ClassRef {
        let t = self.classes.read().unwrap_or_else(|e| e.into_inner());
        let c = &t.list[(class as usize).saturating_sub(1).min(t.list.len().saturating_sub(1))];
        ClassRef { id: class, kind: c.kind, name: c.name, created: c.created }
    }

    pub(crate) fn lock_ref(&self, ident: u64) -> LockRef {
        LockRef { id: ident & ((1 << INSTANCE_BITS) - 1), class: self.class_ref(ident >> INSTANCE_BITS) }
    }
}

// ---------------------------------------------------------------------------
// Lock classes and per-lock metadata

#[derive(PartialEq, Eq, Hash)]
enum ClassKey {
    Named(Kind, &'static str),
    Site(Kind, Site),
}

struct ClassInfo {
    kind: Kind,
    name: Option<&'static str>,
    created: Site,
}

#[derive(Default)]
struct ClassTable {
    ids: HashMap<ClassKey, u64>,
    list: Vec<ClassInfo>,
}

/// Embedded in every LockLens lock, before the wrapped lock.
/// `const`-constructible. The fields every acquisition uses come last, so
/// that they tend to share the wrapped lock word's cache line: under
/// contention the line moves between cores anyway, a second one would
/// double the traffic.
#[repr(C)]
pub(crate) struct LockMeta {
    created: &'static Location<'static>,
    name: Option<&'static str>,
    /// When the last acquisition happened (async locks only; ms since start).
    last_ms: AtomicU64,
    kind: Kind,
    /// `class << 40 | instance`, assigned on first tracked use (0 = not yet).
    ident: AtomicU64,
    /// Last acquirer: `mode << 56 | thread id`.
    last: AtomicU64,
    last_site: AtomicPtr<Location<'static>>,
}

impl LockMeta {
    pub(crate) const fn new(created: &'static Location<'static>, name: Option<&'static str>, kind: Kind) -> LockMeta {
        LockMeta {
            ident: AtomicU64::new(0),
            last: AtomicU64::new(0),
            last_site: AtomicPtr::new(ptr::null_mut()),
            last_ms: AtomicU64::new(0),
            created,
            name,
            kind,
        }
    }

    pub(crate) fn name(&self) -> Option<&'static str> {
        self.name
    }

    pub(crate) fn created(&self) -> &'static Location<'static> {
        self.created
    }

    #[inline]
    pub(crate) fn ident(&self, rt: &Runtime) -> u64 {
        let v = self.ident.load(Relaxed);
        if v != 0 {
            v
        } else {
            self.assign_ident(rt)
        }
    }

    #[cold]
    fn assign_ident(&self, rt: &Runtime) -> u64 {
        let key = match self.name {
            Some(n) => ClassKey::Named(self.kind, n),
            None => ClassKey::Site(self.kind, Site::from_location(self.created)),
        };
        let class = {
            let mut t = rt.classes.write().unwrap_or_else(|e| e.into_inner());
            let next = t.list.len() as u64 + 1;
            let id = *t.ids.entry(key).or_insert(next);
            if id == next {
                t.list.push(ClassInfo { kind: self.kind, name: self.name, created: Site::from_location(self.created) });
            }
            id
        };
        let inst = rt.next_lock.fetch_add(1, Relaxed) & ((1 << INSTANCE_BITS) - 1);
        let v = class << INSTANCE_BITS | inst;
        match self.ident.compare_exchange(0, v, Relaxed, Relaxed) {
            Ok(_) => v,
            Err(existing) => existing,
        }
    }

    /// Records `ts` as the last acquirer.
    #[inline(always)]
    fn set_last(&self, ts: &ThreadState, mode: Mode, site: &'static Location<'static>) {
        self.last.store((mode as u64) << 56 | ts.id, Relaxed);
        self.last_site.store(site as *const _ as *mut _, Relaxed);
    }

    fn last_acquire(&self) -> Option<(u64, Mode, &'static Location<'static>)> {
        let last = self.last.load(Relaxed);
        let site = self.last_site.load(Relaxed);
        if last == 0 || site.is_null() {
            return None;
        }
        // SAFETY: only `&'static Location` pointers are ever stored.
        Some((last & ((1 << 56) - 1), Mode::from_u8((last >> 56) as u8), unsafe { &*site }))
    }
}

// ---------------------------------------------------------------------------
// Per-thread state

/// A lock the thread holds. 32 bytes: one shift indexes the stack.
pub(crate) struct HeldSlot {
    ident: AtomicU64,
    site: AtomicPtr<Location<'static>>,
    since_ms: AtomicU64,
    mode: AtomicU8,
}

// indices into a slot's counters, same order as SiteCounters
const C_ACQ: usize = 0;
const C_CONTENDED: usize = 1;
const C_TRYFAIL: usize = 2;
const C_WAIT_NS: usize = 3;
const C_WAIT_MAX: usize = 4;
const C_HOLD_N: usize = 5;
const C_HOLD_NS: usize = 6;
const C_HOLD_MAX: usize = 7;

pub(crate) type StatKey = (u64, usize, u8);

pub(crate) struct ThreadState {
    pub(crate) id: u64,
    pub(crate) name: Option<String>,
    pub(crate) os_tid: Option<u64>,
    pub(crate) alive: AtomicBool,
    held_len: AtomicUsize,
    held: [HeldSlot; MAX_HELD],
    /// Per held slot, the last lock-order pair ([`edge_key`]) checked from
    /// it (owner thread only; see [`check_edges`]). 0 = none.
    held_memo: [AtomicU64; MAX_HELD],
    /// `sample_every - 1` (a power of two): an acquisition is sampled when
    /// its (class, site, mode) slot's count before it has these bits clear,
    /// so the counter update is also the sampling decision.
    sample_mask: u64,
    // current wait (0 = not waiting)
    wait_ident: AtomicU64,
    wait_seq: AtomicU64,
    wait_mode: AtomicU8,
    wait_upgrade: AtomicBool,
    wait_timed: AtomicBool,
    wait_site: AtomicPtr<Location<'static>>,
    wait_since_ms: AtomicU64,
    wait_last: AtomicU64,
    wait_last_site: AtomicPtr<Location<'static>>,
    pub(crate) stall_reported: AtomicU64,
    backtrace: StdMutex<Option<std::backtrace::Backtrace>>,
    // Per-(class, site, mode) counter slots, as parallel arrays so that
    // the inline path indexes each with one scaled address:
    /// Acquisition site of a slot; null = empty. Written last (Release).
    stat_sites: [AtomicPtr<Location<'static>>; STAT_SLOTS],
    /// `class << 3 | mode` of a slot (modes are 1..=5).
    stat_keys: [AtomicU64; STAT_SLOTS],
    /// A slot's acquisitions ([`C_ACQ`]).
    stat_acq: [AtomicU64; STAT_SLOTS],
    /// A slot's other counters ([`C_CONTENDED`].., at index - 1).
    stat_rest: [[AtomicU64; 7]; STAT_SLOTS],
    stats_overflow: StdMutex<HashMap<StatKey, SiteCounters>>,
    /// Lock-order pairs this thread knows are in the global graph.
    edges: EdgeCache,
}

impl ThreadState {
    fn new(id: u64, sample_every: u32) -> ThreadState {
        let cur = std::thread::current();
        ThreadState {
            id,
            name: cur.name().map(str::to_string),
            os_tid: os_tid(),
            alive: AtomicBool::new(true),
            held_len: AtomicUsize::new(0),
            held_memo: std::array::from_fn(|_| AtomicU64::new(0)),
            held: std::array::from_fn(|_| HeldSlot {
                ident: AtomicU64::new(0),
                site: AtomicPtr::new(ptr::null_mut()),
                since_ms: AtomicU64::new(0),
                mode: AtomicU8::new(0),
            }),
            sample_mask: sample_period(sample_every) as u64 - 1,
            wait_ident: AtomicU64::new(0),
            wait_seq: AtomicU64::new(0),
            wait_mode: AtomicU8::new(0),
            wait_upgrade: AtomicBool::new(false),
            wait_timed: AtomicBool::new(false),
            wait_site: AtomicPtr::new(ptr::null_mut()),
            wait_since_ms: AtomicU64::new(0),
            wait_last: AtomicU64::new(0),
            wait_last_site: AtomicPtr::new(ptr::null_mut()),
            stall_reported: AtomicU64::new(0),
            backtrace: StdMutex::new(None),
            stat_sites: std::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
            stat_keys: std::array::from_fn(|_| AtomicU64::new(0)),
            stat_acq: std::array::from_fn(|_| AtomicU64::new(0)),
            stat_rest: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0))),
            stats_overflow: StdMutex::new(HashMap::new()),
            edges: EdgeCache::new(),
        }
    }

    pub(crate) fn thread_ref(&self) -> ThreadRef {
        ThreadRef { id: self.id, name: self.name.clone(), os_tid: self.os_tid }
    }

    /// Counter slot index for (class, site, mode) from slot `h` on, taking
    /// an empty slot if there is none yet (owner thread only).
    fn stat_probe(&self, h: usize, key: u64, sp: *mut Location<'static>) -> Option<usize> {
        for i in 0..STAT_PROBE {
            let h = (h + i) & (STAT_SLOTS - 1);
            let cur = self.stat_sites[h].load(Relaxed);
            if cur == sp {
                if self.stat_keys[h].load(Relaxed) == key {
                    return Some(h);
                }
            } else if cur.is_null() {
                self.stat_keys[h].store(key, Relaxed);
                self.stat_sites[h].store(sp, Release);
                return Some(h);
            }
        }
        None
    }

    /// Every counter entry of this thread (slots and overflow map), read
    /// while the thread may be running.
    pub(crate) fn for_each_counters(&self, mut f: impl FnMut(StatKey, &SiteCounters)) {
        for h in 0..STAT_SLOTS {
            let site = self.stat_sites[h].load(Acquire);
            if site.is_null() {
                continue;
            }
            let key = self.stat_keys[h].load(Relaxed);
            let mut c = SiteCounters::default();
            for i in 0..8 {
                *counter_field(&mut c, i) = self.counter(h, i).load(Relaxed);
            }
            f((key >> 3, site as usize, (key & 7) as u8), &c);
        }
        for (k, c) in self.stats_overflow.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            f(*k, c);
        }
    }

    /// The held stack's length once the released slots on its top (see
    /// [`released_slow`]) are popped.
    fn live_len(&self, mut len: usize) -> usize {
        while len > 0 && self.held[len - 1].ident.load(Relaxed) == 0 {
            len -= 1;
        }
        len
    }

    /// Applies `f` to the counters of (class, site, mode) in this thread
    /// (owner thread only). The first slot is tried inline; collisions go
    /// out of line.
    #[inline(always)]
    fn count<R>(&self, class: u64, site: &'static Location<'static>, mode: Mode, f: impl FnOnce(&mut Acc<'_>) -> R) -> R {
        let sp = site as *const Location<'static> as *mut Location<'static>;
        let key = stat_key(class, mode);
        let h = stat_index(class, sp, mode);
        if self.stat_sites[h].load(Relaxed) == sp && self.stat_keys[h].load(Relaxed) == key {
            f(&mut Acc::Slot(self, h))
        } else {
            self.count_slow(h, key, sp, f)
        }
    }

    /// Counter `i` of slot `h`.
    #[inline(always)]
    fn counter(&self, h: usize, i: usize) -> &AtomicU64 {
        if i == C_ACQ {
            &self.stat_acq[h]
        } else {
            &self.stat_rest[h][i - 1]
        }
    }

    #[cold]
    #[inline(never)]
    fn count_slow<R>(&self, h: usize, key: u64, sp: *mut Location<'static>, f: impl FnOnce(&mut Acc<'_>) -> R) -> R {
        match self.stat_probe(h, key, sp) {
            Some(h) => f(&mut Acc::Slot(self, h)),
            None => {
                let mut m = self.stats_overflow.lock().unwrap_or_else(|e| e.into_inner());
                f(&mut Acc::Map(m.entry((key >> 3, sp as usize, (key & 7) as u8)).or_default()))
            }
        }
    }
}

/// First counter slot tried for (class, site, mode): bits 4.. of the site's
/// address (sites are distinct statics of more than 16 bytes) plus class
/// and mode; `site + mode * 16` is one `lea` at an inlined call site.
#[inline(always)]
fn stat_index(class: u64, sp: *mut Location<'static>, mode: Mode) -> usize {
    ((sp as usize).wrapping_add((class as usize).wrapping_add(mode as usize) << 4) >> 4) & (STAT_SLOTS - 1)
}

/// `stat_keys` entry of (class, mode).
#[inline(always)]
fn stat_key(class: u64, mode: Mode) -> u64 {
    class << 3 | mode as u64
}

/// Counter access for [`ThreadState::count`]: a slot (owner-written
/// atomics, no RMW) or an entry of the overflow map.
enum Acc<'a> {
    Slot(&'a ThreadState, usize),
    Map(&'a mut SiteCounters),
}

impl Acc<'_> {
    #[inline(always)]
    fn get(&mut self, i: usize) -> u64 {
        match self {
            Acc::Slot(t, h) => t.counter(*h, i).load(Relaxed),
            Acc::Map(m) => *counter_field(m, i),
        }
    }

    #[inline(always)]
    fn add(&mut self, i: usize, v: u64) {
        match self {
            Acc::Slot(t, h) => {
                let c = t.counter(*h, i);
                c.store(c.load(Relaxed).wrapping_add(v), Relaxed)
            }
            Acc::Map(m) => {
                let f = counter_field(m, i);
                *f = f.wrapping_add(v);
            }
        }
    }

    #[inline(always)]
    fn max(&mut self, i: usize, v: u64) {
        match self {
            Acc::Slot(t, h) => {
                let c = t.counter(*h, i);
                if v > c.load(Relaxed) {
                    c.store(v, Relaxed)
                }
            }
            Acc::Map(m) => {
                let f = counter_field(m, i);
                *f = (*f).max(v);
            }
        }
    }
}

pub(crate) fn counter_field(c: &mut SiteCounters, i: usize) -> &mut u64 {
    match i {
        C_ACQ => &mut c.acquisitions,
        C_CONTENDED => &mut c.contended,
        C_TRYFAIL => &mut c.try_failed,
        C_WAIT_NS => &mut c.wait_ns_total,
        C_WAIT_MAX => &mut c.wait_ns_max,
        C_HOLD_N => &mut c.hold_samples,
        C_HOLD_NS => &mut c.hold_ns_total,
        _ => &mut c.hold_ns_max,
    }
}

/// Adds `from` into `into` (sums, maxima for the *_max fields).
pub(crate) fn merge_counters(into: &mut SiteCounters, from: &SiteCounters) {
    into.acquisitions += from.acquisitions;
    into.contended += from.contended;
    into.try_failed += from.try_failed;
    into.wait_ns_total += from.wait_ns_total;
    into.wait_ns_max = into.wait_ns_max.max(from.wait_ns_max);
    into.hold_samples += from.hold_samples;
    into.hold_ns_total += from.hold_ns_total;
    into.hold_ns_max = into.hold_ns_max.max(from.hold_ns_max);
}

#[cfg(target_os = "linux")]
fn os_tid() -> Option<u64> {
    extern "C" {
        fn gettid() -> i32;
    }
    // SAFETY: gettid has no preconditions (glibc >= 2.30, musl >= 1.2.2).
    Some(unsafe { gettid() } as u64)
}

#[cfg(not(target_os = "linux"))]
fn os_tid() -> Option<u64> {
    None
}

struct ExitGuard;

impl Drop for ExitGuard {
    fn drop(&mut self) {
        let p = TS.with(|c| c.replace(ptr::null()));
        if !p.is_null() {
            // SAFETY: the registry keeps the state alive until it sees
            // `alive == false`, which only happens below.
            unsafe { (*p).alive.store(false, Release) };
        }
    }
}

thread_local! {
    /// True on the background thread only.
    pub(crate) static IS_IO_THREAD: Cell<bool> = const { Cell::new(false) };
    static TS: Cell<*const ThreadState> = const { Cell::new(ptr::null()) };
    static EXIT: ExitGuard = const { ExitGuard };
}

#[inline]
fn thread_state(rt: &Runtime) -> &'static ThreadState {
    let p = TS.with(|c| c.get());
    if !p.is_null() {
        // SAFETY: see ExitGuard.
        unsafe { &*p }
    } else {
        register_thread(rt)
    }
}

#[cold]
#[inline(never)]
fn register_thread(rt: &Runtime) -> &'static ThreadState {
    let id = rt.next_thread.fetch_add(1, Relaxed);
    let ts = Arc::new(ThreadState::new(id, rt.cfg.sample_every));
    let p = Arc::as_ptr(&ts);
    rt.threads.write().unwrap_or_else(|e| e.into_inner()).push(ts);
    TS.with(|c| c.set(p));
    // Registers the exit destructor; fails harmlessly during thread teardown
    // (then the state is simply kept).
    let _ = EXIT.try_with(|_| ());
    // SAFETY: the Arc is in the registry.
    unsafe { &*p }
}

// ---------------------------------------------------------------------------
// Acquire / release (fast path)

/// Token kept in a guard: 0 = untracked. Otherwise the low
/// [`TOKEN_POS_BITS`] bits are the position + 1 of the hold's slot in the
/// thread's held stack ([`NOT_STACKED`] when nesting was deeper than
/// [`MAX_HELD`], or for async locks), and the bits above are 0, or for a
/// sampled hold its start on the [`SampleClock`] + 1. Releasing the
/// innermost lock, unsampled, is then `token == held_len`: slots never
/// move while they are held (see [`released_slow`]).
pub(crate) type HeldToken = u64;
const TOKEN_POS_BITS: u32 = 6;
const NOT_STACKED: HeldToken = (1 << TOKEN_POS_BITS) - 1;
const _: () = assert!(MAX_HELD < NOT_STACKED as usize);

/// [`acquired`] after a wait: kept out of line at its call sites.
#[cold]
#[inline(never)]
pub(crate) fn acquired_waited(meta: &LockMeta, mode: Mode, site: &'static Location<'static>, waited_ns: Option<u64>) -> HeldToken {
    acquired_slow(meta, mode, site, waited_ns)
}

/// Records that the calling thread now holds the lock. `waited_ns` is set
/// when the acquisition had to wait.
///
/// Inlined at every acquisition, so it is only the common case: no wait,
/// at most one lock held and its order pair seen last time, the counter
/// slot of (class, site, mode) already this one's. It checks all of that
/// first and only then stores, so that every other case is one
/// out-of-line call ([`acquired_slow`]) doing the whole work. A lock
/// without its ident yet (0) needs no test of its own: class 0 is in no
/// counter slot's key.
#[inline(always)]
pub(crate) fn acquired(meta: &LockMeta, mode: Mode, site: &'static Location<'static>, waited_ns: Option<u64>) -> HeldToken {
    let p = TS.with(|c| c.get());
    if waited_ns.is_none() && !p.is_null() {
        // SAFETY: see ExitGuard.
        let ts = unsafe { &*p };
        let ident = meta.ident.load(Relaxed);
        let len = ts.held_len.load(Relaxed);
        let sp = site as *const Location<'static> as *mut Location<'static>;
        let class = ident >> INSTANCE_BITS;
        let h = stat_index(class, sp, mode);
        if (len == 0 || len == 1 && ts.held_memo[0].load(Relaxed) == edge_key(ts.held[0].ident.load(Relaxed), ident))
            && ts.stat_sites[h].load(Relaxed) == sp
            && ts.stat_keys[h].load(Relaxed) == stat_key(class, mode)
        {
            let n = ts.stat_acq[h].load(Relaxed);
            ts.stat_acq[h].store(n + 1, Relaxed);
            // `len & 1` is `len` here (0 or 1), without a bounds check
            push_held(ts, len & 1, ident, mode, site, COARSE_MS.load(Relaxed));
            meta.set_last(ts, mode, site);
            let token = len as u64 + 1;
            return if n & ts.sample_mask != 0 { token } else { token | sample_start() };
        }
    }
    acquired_slow(meta, mode, site, waited_ns)
}

/// The sample part of a sampled hold's token (see [`HeldToken`]).
#[cold]
#[inline(never)]
fn sample_start() -> HeldToken {
    RT.get().map_or(0, Runtime::sample_token)
}

/// Every acquisition that is not [`acquired`]'s common case: a thread or
/// lock seen for the first time, a wait, deeper nesting or a new order
/// pair, a counter slot collision, a sampled hold.
#[cold]
#[inline(never)]
fn acquired_slow(meta: &LockMeta, mode: Mode, site: &'static Location<'static>, waited_ns: Option<u64>) -> HeldToken {
    let Some(rt) = RT.get() else { return 0 };
    let ts = thread_state(rt);
    let ident = meta.ident(rt);
    let mut len = ts.held_len.load(Relaxed);
    if len != 0 {
        len = check_edges(ts, len, ident, mode, site);
    }
    let mut token = if len < MAX_HELD {
        // exact start for waited acquisitions (a wait is slow anyway), the
        // background thread's coarse clock otherwise
        let since = if waited_ns.is_some() { rt.now_ms() } else { COARSE_MS.load(Relaxed) };
        push_held(ts, len, ident, mode, site, since);
        len as u64 + 1
    } else {
        NOT_STACKED
    };
    if count_acquisition(ts, meta, ident, mode, site, waited_ns) {
        token |= rt.sample_token();
    }
    token
}

/// Fills held slot `len` and makes it part of the held stack.
#[inline(always)]
fn push_held(ts: &ThreadState, len: usize, ident: u64, mode: Mode, site: &'static Location<'static>, since_ms: u64) {
    let s = &ts.held[len];
    s.ident.store(ident, Relaxed);
    s.site.store(site as *const _ as *mut _, Relaxed);
    s.mode.store(mode as u8, Relaxed);
    s.since_ms.store(since_ms, Relaxed);
    ts.held_len.store(len + 1, Release);
}

/// Counts an acquisition at its (class, site, mode) and records the lock's
/// last holder: shared by the thread-held and the async paths. Returns
/// whether the hold is to be sampled: the first acquisition of the slot in
/// this thread and then one in `sample_every` (per slot, so that locks
/// taken in a fixed rotation are all sampled).
#[inline(always)]
fn count_acquisition(ts: &ThreadState, meta: &LockMeta, ident: u64, mode: Mode, site: &'static Location<'static>, waited_ns: Option<u64>) -> bool {
    let n = ts.count(ident >> INSTANCE_BITS, site, mode, move |c| {
        let n = c.get(C_ACQ);
        c.add(C_ACQ, 1);
        if let Some(w) = waited_ns {
            c.add(C_CONTENDED, 1);
            c.add(C_WAIT_NS, w);
            c.max(C_WAIT_MAX, w);
        }
        n
    });
    meta.set_last(ts, mode, site);
    n & ts.sample_mask == 0
}

/// Records a failed `try_*` (no wait).
#[cold]
pub(crate) fn try_failed(meta: &LockMeta, mode: Mode, site: &'static Location<'static>) {
    let Some(rt) = RT.get() else { return };
    let ts = thread_state(rt);
    let ident = meta.ident(rt);
    ts.count(ident >> INSTANCE_BITS, site, mode, |c| c.add(C_TRYFAIL, 1));
}

/// Records that the calling thread released the lock it holds with
/// `token`.
#[inline(always)]
pub(crate) fn released(token: HeldToken) {
    if token == 0 {
        return;
    }
    let p = TS.with(|c| c.get());
    if p.is_null() {
        return;
    }
    // SAFETY: see ExitGuard.
    let ts = unsafe { &*p };
    let len = ts.held_len.load(Relaxed);
    // common case: the innermost hold, not sampled
    if token == len as u64 {
        ts.held_len.store(len - 1, Release);
        return;
    }
    released_slow(ts, len, token)
}

/// A sampled hold, or a release out of order. A slot released below the top
/// of the held stack becomes a hole (ident 0, skipped by every reader)
/// instead of moving the slots above it, whose guards know their position;
/// holes are popped with the slot above them, here or by the next
/// acquisition ([`check_edges_slow`]).
#[cold]
#[inline(never)]
fn released_slow(ts: &ThreadState, len: usize, token: HeldToken) {
    let pos = (token & NOT_STACKED) as usize;
    let slot = (pos != NOT_STACKED as usize && pos <= len).then(|| &ts.held[pos - 1]);
    if token > NOT_STACKED {
        if let (Some(rt), Some(s)) = (RT.get(), slot) {
            let hold = rt.sampled_hold_ns(token);
            let ident = s.ident.load(Relaxed);
            // SAFETY: only &'static Locations are stored.
            let site = unsafe { &*s.site.load(Relaxed) };
            ts.count(ident >> INSTANCE_BITS, site, Mode::from_u8(s.mode.load(Relaxed)), |c| {
                c.add(C_HOLD_N, 1);
                c.add(C_HOLD_NS, hold);
                c.max(C_HOLD_MAX, hold);
            });
        }
    }
    let Some(s) = slot else { return };
    if pos == len {
        ts.held_len.store(ts.live_len(pos - 1), Release);
    } else {
        s.ident.store(0, Relaxed);
    }
}

/// Key of the lock-order pair "class of `held` → class of `ident`": the
/// held lock's class bits where they are in its ident, the new lock's
/// class in the low bits (never 0: class ids start at 1).
#[inline(always)]
fn edge_key(held: u64, ident: u64) -> u64 {
    held & !((1 << INSTANCE_BITS) - 1) | ident >> INSTANCE_BITS
}

/// Reports lock-order edges from every held lock to the one being acquired;
/// returns the held stack's length (holes on its top popped).
///
/// Hot path of nested acquisitions. Each held slot remembers the last
/// class pair checked from it, so a nested acquisition that repeats the
/// pattern it had last time costs one compare: no hashing, no shared
/// state. A miss looks in the thread's [`EdgeCache`], and only a pair
/// missing there goes to the global edge graph ([`new_edge`]). The memo
/// holds class ids only, so it stays valid when the slot is refilled by
/// another acquisition. A re-entrant acquisition of the held lock itself
/// misses too (the memo never holds its pair, see [`edge_memo_miss`]).
#[inline(always)]
fn check_edges(ts: &ThreadState, len: usize, ident: u64, mode: Mode, site: &'static Location<'static>) -> usize {
    if len == 1 {
        // the common case: one lock held, pair seen last time
        if ts.held_memo[0].load(Relaxed) == edge_key(ts.held[0].ident.load(Relaxed), ident) {
            return 1;
        }
    }
    check_edges_slow(ts, len, ident, mode, site)
}

/// Deeper nesting, a memo miss, or holes on top of the held stack.
#[inline(never)]
fn check_edges_slow(ts: &ThreadState, len: usize, ident: u64, mode: Mode, site: &'static Location<'static>) -> usize {
    let live = ts.live_len(len);
    if live != len {
        ts.held_len.store(live, Release);
    }
    for i in 0..live {
        if ts.held_memo[i].load(Relaxed) != edge_key(ts.held[i].ident.load(Relaxed), ident) {
            edge_memo_miss(ts, i, ident, mode, site);
        }
    }
    live
}

/// The held slot's memo missed: look in the thread's edge cache, then (a
/// pair new to this thread, or evicted) in the global graph.
#[cold]
#[inline(never)]
fn edge_memo_miss(ts: &ThreadState, i: usize, ident: u64, mode: Mode, site: &'static Location<'static>) {
    let held = ts.held[i].ident.load(Relaxed);
    if held == ident || held == 0 {
        // re-entrant / recursive acquisition of the same lock: no edge. Not
        // memoised, since another lock of the same class is an edge. (0: a
        // hole, see released_slow.)
        return;
    }
    let key = edge_key(held, ident);
    ts.held_memo[i].store(key, Relaxed);
    if ts.edges.contains(key) {
        return;
    }
    ts.edges.insert(key);
    if let Some(rt) = RT.get() {
        new_edge(rt, ts, i, held, ident, mode, site, key);
    }
}

/// Lock-order pairs ([`edge_key`]) a thread knows are in the global edge
/// graph: a direct-mapped table, owner thread only, looked up when a held
/// slot's memo misses, before the graph's lock is taken. A pair evicted by
/// a colliding one is found in the global graph again (and not re-sent).
pub(crate) struct EdgeCache([AtomicU64; EDGE_CACHE_SLOTS]);

/// Entries of a thread's [`EdgeCache`] (power of two): 2 KiB per thread.
const EDGE_CACHE_SLOTS: usize = 256;

impl EdgeCache {
    pub(crate) fn new() -> EdgeCache {
        EdgeCache(std::array::from_fn(|_| AtomicU64::new(0)))
    }

    /// Fibonacci hashing: keys differ mostly in their low (new class) and
    /// high (held class) bits, the multiply mixes both into the top bits.
    #[inline]
    fn slot(key: u64) -> usize {
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - EDGE_CACHE_SLOTS.trailing_zeros())) as usize
    }

    #[inline]
    pub(crate) fn contains(&self, key: u64) -> bool {
        self.0[Self::slot(key)].load(Relaxed) == key
    }

    /// Replaces whatever pair shared the slot.
    #[inline]
    pub(crate) fn insert(&self, key: u64) {
        self.0[Self::slot(key)].store(key, Relaxed);
    }
}

/// A pair the thread had not cached: report it if it is new to the process.
#[cold]
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn new_edge(
    rt: &Runtime,
    ts: &ThreadState,
    i: usize,
    held: u64,
    ident: u64,
    mode: Mode,
    site: &'static Location<'static>,
    key: u64,
) {
    // Usually known already (found by another thread, or evicted from this
    // thread's cache): then no event is built.
    if rt.edges_locked().set.contains(&key) {
        return;
    }
    let from_site = ts.held[i].site.load(Relaxed);
    // SAFETY: only &'static Locations are stored.
    let from_site = Site::from_location(unsafe { &*from_site });
    let from_mode = Mode::from_u8(ts.held[i].mode.load(Relaxed));
    let edge = wire::Edge {
        t_ms: rt.now_ms(),
        thread: ts.thread_ref(),
        from: wire::EdgeEnd { lock: rt.lock_ref(held), mode: from_mode, site: from_site },
        to: wire::EdgeEnd { lock: rt.lock_ref(ident), mode, site: Site::from_location(site) },
    };
    let (from_class, to_class) = (held >> INSTANCE_BITS, ident >> INSTANCE_BITS);
    let cycle = {
        let mut g = rt.edges_locked();
        if !g.set.insert(key) {
            return; // another thread reported it meanwhile
        }
        // Does the new edge close a cycle of lock classes? (Same-class
        // edges, e.g. two accounts of one class, are not counted.)
        let cycle = if from_class != to_class { g.path(to_class, from_class) } else { None };
        g.adj.entry(from_class).or_default().push((to_class, edge.clone()));
        cycle
    };
    rt.emit(Message::Edge(edge.clone()));
    if let Some(mut path) = cycle {
        path.push(edge);
        rt.emit(Message::OrderCycle(wire::OrderCycle { t_ms: rt.now_ms(), edges: path }));
    }
}

/// The lock-order graph between classes, with the first sighting of each
/// edge.
#[derive(Default)]
struct EdgeGraph {
    set: HashSet<u64>,
    adj: HashMap<u64, Vec<(u64, wire::Edge)>>,
}

impl EdgeGraph {
    /// Shortest chain of recorded edges from class `a` to class `b`.
    fn path(&self, a: u64, b: u64) -> Option<Vec<wire::Edge>> {
        let mut prev: HashMap<u64, (u64, usize)> = HashMap::new();
        let mut queue = VecDeque::from([a]);
        let mut seen = HashSet::from([a]);
        while let Some(c) = queue.pop_front() {
            if c == b {
                let mut out = Vec::new();
                let mut at = b;
                while at != a {
                    let (p, idx) = prev[&at];
                    out.push(self.adj[&p][idx].1.clone());
                    at = p;
                }
                out.reverse();
                return Some(out);
            }
            for (idx, (n, _)) in self.adj.get(&c).into_iter().flatten().enumerate() {
                if seen.insert(*n) {
                    prev.insert(*n, (c, idx));
                    queue.push_back(*n);
                }
            }
        }
        None
    }
}

// ---------------------------------------------------------------------------
// Waiting (slow path), wait-for graph and deadlock detection

pub(crate) struct WaitToken {
    start: Instant,
}

/// Kind of blocking wait, for the wait-for graph.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum WaitKind {
    /// Blocks until the lock is free.
    Plain,
    /// Blocks at most until a deadline (`try_*_for`).
    Timed,
    /// Upgrading a lock this thread holds (its own hold is not a blocker).
    Upgrade,
}

/// Called when a lock is busy, right before blocking. Publishes the wait,
/// emits a `wait` event and looks for a wait-for cycle through this thread.
#[cold]
#[inline(never)]
pub(crate) fn begin_wait(meta: &LockMeta, mode: Mode, site: &'static Location<'static>, kind: WaitKind) -> Option<WaitToken> {
    let rt = RT.get()?;
    let ts = thread_state(rt);
    let ident = meta.ident(rt);
    let start = Instant::now();
    let t_ms = rt.ms(start);
    ts.wait_mode.store(mode as u8, Relaxed);
    ts.wait_site.store(site as *const _ as *mut _, Relaxed);
    ts.wait_since_ms.store(t_ms, Relaxed);
    ts.wait_timed.store(kind == WaitKind::Timed, Relaxed);
    ts.wait_upgrade.store(kind == WaitKind::Upgrade, Relaxed);
    let last = meta.last_acquire();
    ts.wait_last.store(meta.last.load(Relaxed), Relaxed);
    ts.wait_last_site.store(meta.last_site.load(Relaxed), Relaxed);
    if rt.cfg.backtraces {
        *ts.backtrace.lock().unwrap_or_else(|e| e.into_inner()) = Some(std::backtrace::Backtrace::force_capture());
    }
    ts.wait_seq.fetch_add(1, SeqCst);
    ts.wait_ident.store(ident, SeqCst);
    fence(SeqCst);

    // Cheap pass over the registry: the holders, and whether a cycle is
    // possible at all (a holder that itself waits, a queued writer ahead of
    // a reader, or this thread holding the lock). Only then is the whole
    // graph captured.
    let want_event = !rt.queue_full();
    let last_tid = last.map(|l| l.0);
    let mut holders = Vec::new();
    let mut last_thread = None;
    let mut maybe_cycle = false;
    for t in rt.threads.read().unwrap_or_else(|e| e.into_inner()).iter() {
        if !t.alive.load(Relaxed) {
            continue;
        }
        if want_event && Some(t.id) == last_tid {
            last_thread = Some(t.thread_ref());
        }
        let len = t.held_len.load(Acquire).min(MAX_HELD);
        for h in &t.held[..len] {
            if h.ident.load(Relaxed) != ident {
                continue;
            }
            let site = h.site.load(Relaxed);
            if site.is_null() {
                continue;
            }
            if t.id == ts.id || t.wait_ident.load(SeqCst) != 0 {
                maybe_cycle = true;
            }
            if !want_event {
                continue;
            }
            holders.push(wire::Holder {
                thread: t.thread_ref(),
                mode: Mode::from_u8(h.mode.load(Relaxed)),
                // SAFETY: only &'static Locations are stored.
                site: Site::from_location(unsafe { &*site }),
                since_ms: h.since_ms.load(Relaxed),
            });
        }
        if mode == Mode::Read && t.id != ts.id && t.wait_ident.load(SeqCst) == ident {
            maybe_cycle = true;
        }
    }
    if want_event {
        let last = last.map(|(tid, m, s)| wire::LastAcquire {
            thread: last_thread.unwrap_or(ThreadRef { id: tid, name: None, os_tid: None }),
            mode: m,
            site: Site::from_location(s),
        });
        rt.emit(Message::Wait(wire::Wait {
            t_ms,
            thread: ts.thread_ref(),
            lock: rt.lock_ref(ident),
            mode,
            site: Site::from_location(site),
            timed: kind == WaitKind::Timed,
            holders,
            last,
        }));
    } else {
        rt.dropped.fetch_add(1, Relaxed);
    }
    if maybe_cycle {
        let graph = Graph::capture(rt);
        if graph.cycle_from(ts.id).is_some() {
            confirm_and_report(rt, ts.id);
        }
    }
    Some(WaitToken { start })
}

/// The wait is over (acquired, timed out or failed). Returns the waited ns.
#[inline]
pub(crate) fn end_wait(token: Option<WaitToken>) -> Option<u64> {
    let token = token?;
    let p = TS.with(|c| c.get());
    if !p.is_null() {
        // SAFETY: see ExitGuard.
        unsafe { (*p).wait_ident.store(0, SeqCst) };
    }
    Some(token.start.elapsed().as_nanos() as u64)
}

/// A timed wait ended without the lock.
pub(crate) fn wait_timed_out(meta: &LockMeta, mode: Mode, site: &'static Location<'static>, waited_ns: Option<u64>) {
    let Some(rt) = RT.get() else { return };
    let ts = thread_state(rt);
    let ident = meta.ident(rt);
    ts.count(ident >> INSTANCE_BITS, site, mode, |c| {
        c.add(C_TRYFAIL, 1);
        if let Some(w) = waited_ns {
            c.add(C_CONTENDED, 1);
            c.add(C_WAIT_NS, w);
            c.max(C_WAIT_MAX, w);
        }
    });
}


struct HeldView {
    ident: u64,
    mode: Mode,
    site: &'static Location<'static>,
    since_ms: u64,
}

struct ThreadView {
    ts: Arc<ThreadState>,
    wait_ident: u64,
    wait_seq: u64,
    wait_mode: Mode,
    wait_upgrade: bool,
    held: Vec<HeldView>,
}

/// A racy but self-consistent-enough copy of every thread's held locks and
/// current wait. Cycles are confirmed with a second capture.
pub(crate) struct Graph {
    views: Vec<ThreadView>,
}

impl Graph {
    pub(crate) fn capture(rt: &Runtime) -> Graph {
        let threads = rt.thread_list();
        let views = threads
            .into_iter()
            .filter(|t| t.alive.load(Relaxed))
            .map(|ts| {
                let wait_ident = ts.wait_ident.load(SeqCst);
                let wait_seq = ts.wait_seq.load(SeqCst);
                let len = ts.held_len.load(Acquire).min(MAX_HELD);
                let mut held = Vec::with_capacity(len);
                for s in &ts.held[..len] {
                    let site = s.site.load(Relaxed);
                    if site.is_null() || s.ident.load(Relaxed) == 0 {
                        continue;
                    }
                    held.push(HeldView {
                        ident: s.ident.load(Relaxed),
                        mode: Mode::from_u8(s.mode.load(Relaxed)),
                        // SAFETY: only &'static Locations are stored.
                        site: unsafe { &*site },
                        since_ms: s.since_ms.load(Relaxed),
                    });
                }
                ThreadView {
                    wait_mode: Mode::from_u8(ts.wait_mode.load(Relaxed)),
                    wait_upgrade: ts.wait_upgrade.load(Relaxed),
                    ts,
                    wait_ident,
                    wait_seq,
                    held,
                }
            })
            .collect();
        Graph { views }
    }

    fn thread_ref(&self, id: u64) -> ThreadRef {
        self.views
            .iter()
            .find(|v| v.ts.id == id)
            .map(|v| v.ts.thread_ref())
            .unwrap_or(ThreadRef { id, name: None, os_tid: None })
    }

    pub(crate) fn holders(&self, ident: u64) -> Vec<wire::Holder> {
        let mut out = Vec::new();
        for v in &self.views {
            for h in v.held.iter().filter(|h| h.ident == ident) {
                out.push(wire::Holder {
                    thread: v.ts.thread_ref(),
                    mode: h.mode,
                    site: Site::from_location(h.site),
                    since_ms: h.since_ms,
                });
            }
        }
        out
    }

    /// Threads (view indices) that the waiter at `w` waits for.
    fn blockers(&self, w: usize) -> Vec<usize> {
        let me = &self.views[w];
        let l = me.wait_ident;
        let mut out = Vec::new();
        for (i, v) in self.views.iter().enumerate() {
            if i == w && me.wait_upgrade {
                continue;
            }
            let holds = v.held.iter().any(|h| h.ident == l);
            // Readers queue behind waiting writers (writer preference).
            let queued_writer = i != w && me.wait_mode == Mode::Read && v.wait_ident == l && v.wait_mode == Mode::Write;
            if holds || queued_writer {
                out.push(i);
            }
        }
        out
    }

    /// A wait-for cycle through thread `start` (view indices, starting with
    /// `start`'s own), if any.
    pub(crate) fn cycle_from(&self, start: u64) -> Option<Vec<usize>> {
        let s = self.views.iter().position(|v| v.ts.id == start)?;
        if self.views[s].wait_ident == 0 {
            return None;
        }
        let mut path = vec![s];
        let mut visited = vec![false; self.views.len()];
        visited[s] = true;
        if self.dfs(s, s, &mut path, &mut visited) {
            Some(path)
        } else {
            None
        }
    }

    fn dfs(&self, start: usize, at: usize, path: &mut Vec<usize>, visited: &mut [bool]) -> bool {
        for b in self.blockers(at) {
            if b == start {
                return true;
            }
            if !visited[b] && self.views[b].wait_ident != 0 {
                visited[b] = true;
                path.push(b);
                if self.dfs(start, b, path, visited) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }

    fn key(&self, cycle: &[usize]) -> Vec<(u64, u64)> {
        let mut k: Vec<(u64, u64)> = cycle.iter().map(|&i| (self.views[i].ts.id, self.views[i].wait_seq)).collect();
        k.sort_unstable();
        k
    }

    pub(crate) fn waiting(&self) -> impl Iterator<Item = (u64, u64, u64)> + '_ {
        self.views
            .iter()
            .filter(|v| v.wait_ident != 0)
            .map(|v| (v.ts.id, v.wait_ident, v.wait_seq))
    }
}

/// Re-captures the graph; reports the cycle if it is still there with the
/// same wait episodes (so it is not an artefact of a racy capture).
/// (The caller found a cycle in its own capture; both captures here are
/// fresh so that a racy first look cannot be reported.)
pub(crate) fn confirm_and_report(rt: &Runtime, start: u64) {
    let g1 = Graph::capture(rt);
    let Some(c1) = g1.cycle_from(start) else { return };
    std::thread::yield_now();
    let g2 = Graph::capture(rt);
    let Some(c2) = g2.cycle_from(start) else { return };
    let key = g2.key(&c2);
    if g1.key(&c1) != key {
        return;
    }
    if !rt.reported.lock().unwrap_or_else(|e| e.into_inner()).insert(key) {
        return;
    }
    report_deadlock(rt, &g2, &c2);
}

fn report_deadlock(rt: &Runtime, g: &Graph, cycle: &[usize]) {
    let timed = cycle.iter().any(|&i| g.views[i].ts.wait_timed.load(Relaxed));
    let abort = rt.cfg.on_deadlock == OnDeadlock::Abort && !timed;
    let nodes: Vec<wire::CycleNode> = cycle
        .iter()
        .map(|&i| {
            let v = &g.views[i];
            let ts = &v.ts;
            let site = ts.wait_site.load(Relaxed);
            wire::CycleNode {
                thread: ts.thread_ref(),
                waits_for: rt.lock_ref(v.wait_ident),
                mode: v.wait_mode,
                // SAFETY: only &'static Locations are stored; set before wait_ident.
                site: Site::from_location(unsafe { &*site }),
                timed: ts.wait_timed.load(Relaxed),
                wait_since_ms: ts.wait_since_ms.load(Relaxed),
                held_by: g.blockers(i).into_iter().map(|b| g.views[b].ts.id).collect(),
                holds: v
                    .held
                    .iter()
                    .map(|h| wire::Held {
                        lock: rt.lock_ref(h.ident),
                        mode: h.mode,
                        site: Site::from_location(h.site),
                        since_ms: h.since_ms,
                    })
                    .collect(),
                backtrace: ts.backtrace.lock().unwrap_or_else(|e| e.into_inner()).as_ref().map(|b| b.to_string()),
            }
        })
        .collect();
    let d = wire::Deadlock { t_ms: rt.now_ms(), action: if abort { "abort" } else { "report" }, cycle: nodes };
    eprint!("{}", human_deadlock(&d));
    rt.update_status(|s| s.deadlocks += 1);
    let n = rt.emit_urgent(Message::Deadlock(d));
    if abort {
        if IS_IO_THREAD.with(|c| c.get()) {
            // found by the background scan: the transport aborts once the
            // report is written
            rt.abort_after_write.store(true, SeqCst);
            return;
        }
        rt.flush_urgent(n, Duration::from_secs(2));
        abort_now();
    }
}

pub(crate) fn abort_now() -> ! {
    eprintln!("locklens: aborting (LOCKLENS_ON_DEADLOCK=abort)");
    std::process::abort();
}

fn fmt_thread(t: &ThreadRef) -> String {
    match &t.name {
        Some(n) => format!("thread #{} \"{}\"", t.id, n),
        None => format!("thread #{}", t.id),
    }
}

fn fmt_lock(l: &LockRef) -> String {
    let c = &l.class;
    match c.name {
        Some(n) => format!("{} \"{}\" (lock #{}, created {}:{})", c.kind.as_str(), n, l.id, c.created.file, c.created.line),
        None => format!("{} created at {}:{}:{} (lock #{})", c.kind.as_str(), c.created.file, c.created.line, c.created.col, l.id),
    }
}

fn fmt_site(s: &Site) -> String {
    format!("{}:{}:{}", s.file, s.line, s.col)
}

/// Human-readable deadlock report for stderr.
pub(crate) fn human_deadlock(d: &wire::Deadlock) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(s, "locklens: DEADLOCK: wait-for cycle of {} thread(s)", d.cycle.len());
    for n in &d.cycle {
        let _ = writeln!(
            s,
            "  {} waits for {} of {}{} at {}",
            fmt_thread(&n.thread),
            n.mode.as_str(),
            fmt_lock(&n.waits_for),
            if n.timed { " (timed)" } else { "" },
            fmt_site(&n.site)
        );
        let by: Vec<String> = n.held_by.iter().map(|t| format!("#{t}")).collect();
        let _ = writeln!(s, "    held by thread(s) {}", by.join(", "));
        for h in &n.holds {
            let _ = writeln!(s, "    it holds {} ({}) acquired at {}", fmt_lock(&h.lock), h.mode.as_str(), fmt_site(&h.site));
        }
        if let Some(bt) = &n.backtrace {
            for line in bt.lines() {
                let _ = writeln!(s, "      {line}");
            }
        }
    }
    s
}

/// Background scan: stalls (waits over the threshold, once per wait) and
/// cycles that the waiting threads' own checks could have missed.
pub(crate) fn scan(rt: &Runtime) {
    let now = rt.now_ms();
    let g = Graph::capture(rt);
    let stall_ms = rt.cfg.stall.as_millis() as u64;
    let waiting: Vec<(u64, u64, u64)> = g.waiting().collect();
    for v in &g.views {
        if v.wait_ident == 0 {
            continue;
        }
        let ts = &v.ts;
        let since = ts.wait_since_ms.load(Relaxed);
        let waited = now.saturating_sub(since);
        if waited >= stall_ms && ts.stall_reported.load(Relaxed) != v.wait_seq {
            ts.stall_reported.store(v.wait_seq, Relaxed);
            let site = ts.wait_site.load(Relaxed);
            let last_site = ts.wait_last_site.load(Relaxed);
            let last_raw = ts.wait_last.load(Relaxed);
            let last = if last_raw == 0 || last_site.is_null() {
                None
            } else {
                Some(wire::LastAcquire {
                    thread: g.thread_ref(last_raw & ((1 << 56) - 1)),
                    mode: Mode::from_u8((last_raw >> 56) as u8),
                    // SAFETY: only &'static Locations are stored.
                    site: Site::from_location(unsafe { &*last_site }),
                })
            };
            rt.update_status(|s| s.stalls += 1);
            rt.emit_urgent(Message::Stall(wire::Stall {
                t_ms: now,
                thread: ts.thread_ref(),
                lock: rt.lock_ref(v.wait_ident),
                mode: v.wait_mode,
                // SAFETY: only &'static Locations are stored.
                site: Site::from_location(unsafe { &*site }),
                waited_ms: waited,
                holders: g.holders(v.wait_ident),
                last,
            }));
        }
    }
    scan_async(rt, now, stall_ms);
    for (id, _, _) in waiting {
        if g.cycle_from(id).is_some() {
            confirm_and_report(rt, id);
        }
    }
}

/// Every lock held right now by a registered thread, read from the
/// threads' held-lock stacks (racy like [`Graph::capture`]: a lock taken or
/// released during the read may be missed or listed), longest-held first,
/// at most `max`. Background thread only.
pub(crate) fn current_holders(rt: &Runtime, max: usize) -> Vec<wire::HeldNow> {
    let mut out = Vec::new();
    for ts in rt.thread_list() {
        if !ts.alive.load(Relaxed) {
            continue;
        }
        let len = ts.held_len.load(Acquire).min(MAX_HELD);
        if len == 0 {
            continue;
        }
        let thread = ts.thread_ref();
        for s in &ts.held[..len] {
            let site = s.site.load(Relaxed);
            let ident = s.ident.load(Relaxed);
            if site.is_null() || ident == 0 {
                continue;
            }
            out.push(wire::HeldNow {
                thread: thread.clone(),
                lock: rt.lock_ref(ident),
                mode: Mode::from_u8(s.mode.load(Relaxed)),
                // SAFETY: only &'static Locations are stored.
                site: Site::from_location(unsafe { &*site }),
                since_ms: s.since_ms.load(Relaxed),
            });
        }
    }
    out.sort_by_key(|h| (h.since_ms, h.thread.id));
    out.truncate(max);
    out
}

/// Turns a stat key back into wire types.
pub(crate) fn entry_of(rt: &Runtime, key: &StatKey, c: &SiteCounters) -> wire::SnapshotEntry {
    // SAFETY: the key's site came from a &'static Location.
    let site: &'static Location<'static> = unsafe { &*(key.1 as *const Location<'static>) };
    wire::SnapshotEntry { class: rt.class_ref(key.0), site: Site::from_location(site), mode: Mode::from_u8(key.2), counters: c.clone() }
}

// ---------------------------------------------------------------------------
// Async (tokio) locks: holders and waiters are tasks, which move between
// threads, so they are tracked on the lock (last acquirer) and in a
// registry of waiting tasks instead of the per-thread held stacks.

struct AsyncWaiter {
    thread: ThreadRef,
    ident: u64,
    mode: Mode,
    site: &'static Location<'static>,
    since_ms: u64,
    last: Option<wire::LastAcquire>,
    holder_since_ms: u64,
    reported: bool,
}

/// A task's pending wait; dropping it (also when the future is cancelled)
/// removes the task from the registry.
pub(crate) struct AsyncWait {
    id: u64,
    start: Instant,
}

impl Drop for AsyncWait {
    fn drop(&mut self) {
        if let Some(rt) = RT.get() {
            rt.async_waiters.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.id);
        }
    }
}

impl AsyncWait {
    pub(crate) fn waited_ns(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }
}

/// A task found an async lock busy: emit `wait` (the holder is the lock's
/// last acquirer) and register the waiting task for stall detection.
#[cold]
#[inline(never)]
pub(crate) fn async_begin_wait(meta: &LockMeta, mode: Mode, site: &'static Location<'static>) -> Option<AsyncWait> {
    let rt = RT.get()?;
    let ts = thread_state(rt);
    let ident = meta.ident(rt);
    let start = Instant::now();
    let t_ms = rt.ms(start);
    let graph = Graph::capture(rt);
    let last = meta.last_acquire().map(|(tid, m, s)| wire::LastAcquire {
        thread: graph.thread_ref(tid),
        mode: m,
        site: Site::from_location(s),
    });
    let holder_since_ms = meta.last_ms.load(Relaxed);
    let holders = last
        .iter()
        .map(|l| wire::Holder { thread: l.thread.clone(), mode: l.mode, site: l.site, since_ms: holder_since_ms })
        .collect();
    rt.emit(Message::Wait(wire::Wait {
        t_ms,
        thread: ts.thread_ref(),
        lock: rt.lock_ref(ident),
        mode,
        site: Site::from_location(site),
        timed: false,
        holders,
        last: last.clone(),
    }));
    let id = rt.next_async.fetch_add(1, Relaxed);
    rt.async_waiters.lock().unwrap_or_else(|e| e.into_inner()).insert(
        id,
        AsyncWaiter { thread: ts.thread_ref(), ident, mode, site, since_ms: t_ms, last, holder_since_ms, reported: false },
    );
    Some(AsyncWait { id, start })
}

/// A task acquired an async lock.
#[inline]
pub(crate) fn async_acquired(meta: &LockMeta, mode: Mode, site: &'static Location<'static>, waited_ns: Option<u64>) -> HeldToken {
    let Some(rt) = RT.get() else { return 0 };
    let ts = thread_state(rt);
    let ident = meta.ident(rt);
    let sampled = count_acquisition(ts, meta, ident, mode, site, waited_ns);
    meta.last_ms.store(COARSE_MS.load(Relaxed), Relaxed);
    if sampled {
        rt.sample_token() | NOT_STACKED
    } else {
        NOT_STACKED
    }
}

/// A task released an async lock (possibly on another thread).
#[inline]
pub(crate) fn async_released(meta: &LockMeta, mode: Mode, site: &'static Location<'static>, token: HeldToken) {
    if token <= NOT_STACKED {
        return;
    }
    let Some(rt) = RT.get() else { return };
    let hold = rt.sampled_hold_ns(token);
    let ts = thread_state(rt);
    let ident = meta.ident(rt);
    ts.count(ident >> INSTANCE_BITS, site, mode, |c| {
        c.add(C_HOLD_N, 1);
        c.add(C_HOLD_NS, hold);
        c.max(C_HOLD_MAX, hold);
    });
}

/// A failed async `try_*`.
#[cold]
pub(crate) fn async_try_failed(meta: &LockMeta, mode: Mode, site: &'static Location<'static>) {
    try_failed(meta, mode, site)
}

/// Stalls of waiting tasks (called from [`scan`]).
fn scan_async(rt: &Runtime, now: u64, stall_ms: u64) {
    let mut due = Vec::new();
    {
        let mut w = rt.async_waiters.lock().unwrap_or_else(|e| e.into_inner());
        for a in w.values_mut() {
            let waited = now.saturating_sub(a.since_ms);
            if !a.reported && waited >= stall_ms {
                a.reported = true;
                let holders = a
                    .last
                    .iter()
                    .map(|l| wire::Holder { thread: l.thread.clone(), mode: l.mode, site: l.site, since_ms: a.holder_since_ms })
                    .collect();
                due.push((a.ident, a.thread.clone(), a.mode, a.site, waited, holders, a.last.clone()));
            }
        }
    }
    // lock_ref takes the class table lock: not under the registry lock
    for (ident, thread, mode, site, waited_ms, holders, last) in due {
        let stall = wire::Stall {
            t_ms: now,
            thread,
            lock: rt.lock_ref(ident),
            mode,
            site: Site::from_location(site),
            waited_ms,
            holders,
            last,
        };
        rt.update_status(|st| st.stalls += 1);
        rt.emit_urgent(Message::Stall(stall));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_period_is_rounded_up_to_a_power_of_two() {
        assert_eq!([0, 1, 2, 3, 64, 65, 100].map(sample_period), [1, 1, 2, 4, 64, 128, 128]);
        assert_eq!(sample_period(u32::MAX), 1 << 31);
    }

    #[test]
    fn edge_cache_holds_what_was_inserted_until_a_colliding_pair_evicts_it() {
        let c = EdgeCache::new();
        let k1 = edge_key(3 << INSTANCE_BITS | 9, 5 << INSTANCE_BITS | 1);
        assert!(!c.contains(k1));
        c.insert(k1);
        assert!(c.contains(k1));
        // a pair of the same slot replaces it
        let k2 = (1..u64::MAX)
            .map(|to| edge_key(7 << INSTANCE_BITS, to << INSTANCE_BITS))
            .find(|&k| EdgeCache::slot(k) == EdgeCache::slot(k1) && k != k1)
            .unwrap();
        c.insert(k2);
        assert!(c.contains(k2) && !c.contains(k1));
        // an empty slot holds 0, which is never a key (class ids start at 1)
        assert_ne!(edge_key(1 << INSTANCE_BITS, 1 << INSTANCE_BITS), 0);
    }

    #[test]
    fn edge_cache_with_many_classes_never_reports_a_pair_it_was_not_given() {
        let c = EdgeCache::new();
        let mut inserted = HashSet::new();
        for from in 1..=100u64 {
            for to in 1..=100u64 {
                let k = edge_key(from << INSTANCE_BITS | to, to << INSTANCE_BITS | from);
                c.insert(k);
                inserted.insert(k);
                assert!(c.contains(k));
            }
        }
        // every slot holds one inserted pair at most, and only inserted ones
        let held: Vec<u64> = c.0.iter().map(|s| s.load(Relaxed)).filter(|&k| k != 0).collect();
        assert!(held.len() <= EDGE_CACHE_SLOTS && held.len() > EDGE_CACHE_SLOTS / 2);
        assert!(held.iter().all(|k| inserted.contains(k) && c.contains(*k)));
        // different pairs have different keys (the instance bits do not count)
        assert_eq!(inserted.len(), 100 * 100);
        assert_eq!(edge_key(1 << INSTANCE_BITS | 5, 2 << INSTANCE_BITS | 6), edge_key(1 << INSTANCE_BITS | 7, 2 << INSTANCE_BITS | 8));
        assert_ne!(edge_key(1 << INSTANCE_BITS, 2 << INSTANCE_BITS), edge_key(2 << INSTANCE_BITS, 1 << INSTANCE_BITS));
    }
}
