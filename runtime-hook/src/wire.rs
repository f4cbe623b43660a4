//! Wire format: the data carried by every message and its serialisation as
//! one line of JSON. See `docs/protocol.md`, section "Runtime hook wire
//! format", and the golden file `tests/wire_samples.ndjson`.
//!
//! This module is public only so that the golden test (and future tools)
//! can build messages; it is not part of the stable Rust API.

use crate::json::Json;

/// Version of the runtime hook wire format. Bumped on any incompatible
/// change; additive fields do not bump it.
pub const PROTOCOL_VERSION: u64 = 1;
/// Value of `protocol` in the hello line.
pub const PROTOCOL_NAME: &str = "locklens-hook";

/// A source location (`file` as rustc reports it, 1-based `line`/`col`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Site {
    pub file: &'static str,
    pub line: u32,
    pub col: u32,
}

impl Site {
    pub fn from_location(l: &'static std::panic::Location<'static>) -> Site {
        Site { file: l.file(), line: l.line(), col: l.column() }
    }
}

/// How a lock was (or is being) acquired.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Mode {
    Mutex = 1,
    Read = 2,
    Write = 3,
    Upgradable = 4,
    Reentrant = 5,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Mutex => "mutex",
            Mode::Read => "read",
            Mode::Write => "write",
            Mode::Upgradable => "upgradable",
            Mode::Reentrant => "reentrant",
        }
    }
    pub(crate) fn from_u8(v: u8) -> Mode {
        match v {
            2 => Mode::Read,
            3 => Mode::Write,
            4 => Mode::Upgradable,
            5 => Mode::Reentrant,
            _ => Mode::Mutex,
        }
    }
}

/// Which implementation a lock wraps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Kind {
    StdMutex = 1,
    StdRwLock = 2,
    PlMutex = 3,
    PlRwLock = 4,
    PlReentrantMutex = 5,
    TokioMutex = 6,
    TokioRwLock = 7,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::StdMutex => "std.mutex",
            Kind::StdRwLock => "std.rwlock",
            Kind::PlMutex => "parking_lot.mutex",
            Kind::PlRwLock => "parking_lot.rwlock",
            Kind::PlReentrantMutex => "parking_lot.reentrant_mutex",
            Kind::TokioMutex => "tokio.mutex",
            Kind::TokioRwLock => "tokio.rwlock",
        }
    }
}

/// A lock class: every lock created at the same site (or with the same
/// explicit name) belongs to one class.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassRef {
    pub id: u64,
    pub kind: Kind,
    pub name: Option<&'static str>,
    pub created: Site,
}

/// One lock instance and its class.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockRef {
    pub id: u64,
    pub class: ClassRef,
}

/// A thread (or, for tokio locks, the thread a task was running on).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadRef {
    /// LockLens' own thread number, unique for the life of the process.
    pub id: u64,
    pub name: Option<String>,
    /// OS thread id (`gettid` on Linux) for matching with gdb/perf.
    pub os_tid: Option<u64>,
}

/// A current holder of a lock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    pub thread: ThreadRef,
    pub mode: Mode,
    pub site: Site,
    /// Milliseconds since hook start when the hold began.
    pub since_ms: u64,
}

/// The most recent acquisition of a lock (current holder or last holder).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastAcquire {
    pub thread: ThreadRef,
    pub mode: Mode,
    pub site: Site,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    pub token: String,
    pub pid: u64,
    pub program: String,
    pub start_unix_ms: u64,
    pub stall_ms: u64,
    pub snapshot_ms: u64,
    pub sample_every: u64,
    pub on_deadlock: &'static str,
    pub queue_capacity: u64,
}

/// A thread found a lock busy and is about to block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wait {
    pub t_ms: u64,
    pub thread: ThreadRef,
    pub lock: LockRef,
    pub mode: Mode,
    pub site: Site,
    /// `true` for `try_*_for`/`try_*_until`: the wait ends by timeout.
    pub timed: bool,
    pub holders: Vec<Holder>,
    pub last: Option<LastAcquire>,
}

/// A new lock-order edge: `from` was held while `to` was acquired.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edge {
    pub t_ms: u64,
    pub thread: ThreadRef,
    pub from: EdgeEnd,
    pub to: EdgeEnd,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EdgeEnd {
    pub lock: LockRef,
    pub mode: Mode,
    pub site: Site,
}

/// One lock held by a thread in a deadlock cycle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    pub lock: LockRef,
    pub mode: Mode,
    pub site: Site,
    pub since_ms: u64,
}

/// One thread of a wait-for cycle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CycleNode {
    pub thread: ThreadRef,
    pub waits_for: LockRef,
    pub mode: Mode,
    pub site: Site,
    pub timed: bool,
    pub wait_since_ms: u64,
    /// Threads (ids) holding `waits_for`; the next node's thread is one of them.
    pub held_by: Vec<u64>,
    pub holds: Vec<Held>,
    pub backtrace: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deadlock {
    pub t_ms: u64,
    /// `"report"` or `"abort"` (what the process does after this line).
    pub action: &'static str,
    pub cycle: Vec<CycleNode>,
}

/// A wait that has lasted longer than the stall threshold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stall {
    pub t_ms: u64,
    pub thread: ThreadRef,
    pub lock: LockRef,
    pub mode: Mode,
    pub site: Site,
    pub waited_ms: u64,
    pub holders: Vec<Holder>,
    pub last: Option<LastAcquire>,
}

/// Cumulative counters for one (class, acquisition site, mode).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SiteCounters {
    pub acquisitions: u64,
    pub contended: u64,
    pub try_failed: u64,
    pub wait_ns_total: u64,
    pub wait_ns_max: u64,
    pub hold_samples: u64,
    pub hold_ns_total: u64,
    pub hold_ns_max: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotEntry {
    pub class: ClassRef,
    pub site: Site,
    pub mode: Mode,
    pub counters: SiteCounters,
}

/// A lock held at snapshot time (from the threads' held-lock stacks).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldNow {
    pub thread: ThreadRef,
    pub lock: LockRef,
    pub mode: Mode,
    /// Where the holder acquired it.
    pub site: Site,
    pub since_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub t_ms: u64,
    pub seq: u64,
    pub threads: u64,
    pub dropped: u64,
    /// Only entries whose counters changed since the previous snapshot;
    /// values are cumulative since hook start.
    pub entries: Vec<SnapshotEntry>,
    /// Every lock held at `t_ms` (thread locks; tokio locks are not
    /// tracked per thread), longest-held first, at most
    /// [`MAX_SNAPSHOT_HOLDERS`]. Complete in every snapshot, not a delta.
    pub holders: Vec<HeldNow>,
}

/// Most holders listed in one snapshot.
pub const MAX_SNAPSHOT_HOLDERS: usize = 512;

/// The lock-order graph has a cycle: taken in these orders by different
/// code paths, these locks can deadlock even if they have not yet. The
/// last edge is the new one that closed the cycle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderCycle {
    pub t_ms: u64,
    pub edges: Vec<Edge>,
}

/// Every message of the wire format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    Hello(Hello),
    Wait(Wait),
    Edge(Edge),
    OrderCycle(OrderCycle),
    Deadlock(Deadlock),
    Stall(Stall),
    Snapshot(Snapshot),
}

fn head(j: &mut Json, ty: &str) {
    j.begin_obj().u64("v", PROTOCOL_VERSION).str("type", ty);
}

fn site(j: &mut Json, k: &str, s: &Site) {
    j.obj(k).str("file", s.file).u64("line", s.line as u64).u64("col", s.col as u64).end_obj();
}

fn class(j: &mut Json, k: &str, c: &ClassRef) {
    j.obj(k).u64("id", c.id).str("kind", c.kind.as_str()).opt_str("name", c.name);
    site(j, "created", &c.created);
    j.end_obj();
}

fn lock(j: &mut Json, k: &str, l: &LockRef) {
    j.obj(k).u64("id", l.id);
    class(j, "class", &l.class);
    j.end_obj();
}

fn thread(j: &mut Json, k: &str, t: &ThreadRef) {
    j.obj(k).u64("id", t.id).opt_str("name", t.name.as_deref()).opt_u64("os_tid", t.os_tid).end_obj();
}

fn holders(j: &mut Json, hs: &[Holder]) {
    j.arr("holders");
    for h in hs {
        j.begin_obj();
        thread(j, "thread", &h.thread);
        j.str("mode", h.mode.as_str());
        site(j, "site", &h.site);
        j.u64("since_ms", h.since_ms).end_obj();
    }
    j.end_arr();
}

fn last(j: &mut Json, l: &Option<LastAcquire>) {
    match l {
        None => {
            j.null("last");
        }
        Some(l) => {
            j.obj("last");
            thread(j, "thread", &l.thread);
            j.str("mode", l.mode.as_str());
            site(j, "site", &l.site);
            j.end_obj();
        }
    }
}

fn edge_body(j: &mut Json, e: &Edge) {
    thread(j, "thread", &e.thread);
    for (k, end) in [("from", &e.from), ("to", &e.to)] {
        j.obj(k);
        lock(j, "lock", &end.lock);
        j.str("mode", end.mode.as_str());
        site(j, "site", &end.site);
        j.end_obj();
    }
}

impl Message {
    /// The message as one JSON line, without the trailing newline.
    pub fn to_json(&self) -> String {
        let mut j = Json::new();
        match self {
            Message::Hello(h) => {
                head(&mut j, "hello");
                j.str("protocol", PROTOCOL_NAME)
                    .str("token", &h.token)
                    .u64("pid", h.pid)
                    .str("program", &h.program)
                    .u64("start_unix_ms", h.start_unix_ms)
                    .obj("config")
                    .u64("stall_ms", h.stall_ms)
                    .u64("snapshot_ms", h.snapshot_ms)
                    .u64("sample_every", h.sample_every)
                    .str("on_deadlock", h.on_deadlock)
                    .u64("queue_capacity", h.queue_capacity)
                    .end_obj();
            }
            Message::Wait(w) => {
                head(&mut j, "wait");
                j.u64("t_ms", w.t_ms);
                thread(&mut j, "thread", &w.thread);
                lock(&mut j, "lock", &w.lock);
                j.str("mode", w.mode.as_str());
                site(&mut j, "site", &w.site);
                j.bool("timed", w.timed);
                holders(&mut j, &w.holders);
                last(&mut j, &w.last);
            }
            Message::Edge(e) => {
                head(&mut j, "edge");
                j.u64("t_ms", e.t_ms);
                edge_body(&mut j, e);
            }
            Message::OrderCycle(c) => {
                head(&mut j, "order_cycle");
                j.u64("t_ms", c.t_ms).arr("edges");
                for e in &c.edges {
                    j.begin_obj().u64("t_ms", e.t_ms);
                    edge_body(&mut j, e);
                    j.end_obj();
                }
                j.end_arr();
            }
            Message::Deadlock(d) => {
                head(&mut j, "deadlock");
                j.u64("t_ms", d.t_ms).str("action", d.action).arr("cycle");
                for n in &d.cycle {
                    j.begin_obj();
                    thread(&mut j, "thread", &n.thread);
                    lock(&mut j, "waits_for", &n.waits_for);
                    j.str("mode", n.mode.as_str());
                    site(&mut j, "site", &n.site);
                    j.bool("timed", n.timed).u64("wait_since_ms", n.wait_since_ms).arr("held_by");
                    for t in &n.held_by {
                        j.item_u64(*t);
                    }
                    j.end_arr().arr("holds");
                    for h in &n.holds {
                        j.begin_obj();
                        lock(&mut j, "lock", &h.lock);
                        j.str("mode", h.mode.as_str());
                        site(&mut j, "site", &h.site);
                        j.u64("since_ms", h.since_ms).end_obj();
                    }
                    j.end_arr().opt_str("backtrace", n.backtrace.as_deref()).end_obj();
                }
                j.end_arr();
            }
            Message::Stall(s) => {
                head(&mut j, "stall");
                j.u64("t_ms", s.t_ms);
                thread(&mut j, "thread", &s.thread);
                lock(&mut j, "lock", &s.lock);
                j.str("mode", s.mode.as_str());
                site(&mut j, "site", &s.site);
                j.u64("waited_ms", s.waited_ms);
                holders(&mut j, &s.holders);
                last(&mut j, &s.last);
            }
            Message::Snapshot(s) => {
                head(&mut j, "snapshot");
                j.u64("t_ms", s.t_ms)
                    .u64("seq", s.seq)
                    .u64("threads", s.threads)
                    .u64("dropped", s.dropped)
                    .arr("entries");
                for e in &s.entries {
                    j.begin_obj();
                    class(&mut j, "class", &e.class);
                    site(&mut j, "site", &e.site);
                    let c = &e.counters;
                    j.str("mode", e.mode.as_str())
                        .u64("acquisitions", c.acquisitions)
                        .u64("contended", c.contended)
                        .u64("try_failed", c.try_failed)
                        .u64("wait_ns_total", c.wait_ns_total)
                        .u64("wait_ns_max", c.wait_ns_max)
                        .u64("hold_samples", c.hold_samples)
                        .u64("hold_ns_total", c.hold_ns_total)
                        .u64("hold_ns_max", c.hold_ns_max)
                        .end_obj();
                }
                j.end_arr().arr("holders");
                for h in &s.holders {
                    j.begin_obj();
                    thread(&mut j, "thread", &h.thread);
                    lock(&mut j, "lock", &h.lock);
                    j.str("mode", h.mode.as_str());
                    site(&mut j, "site", &h.site);
                    j.u64("since_ms", h.since_ms).end_obj();
                }
                j.end_arr();
            }
        }
        j.end_obj();
        j.finish()
    }
}
