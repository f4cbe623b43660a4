//! Hook on: a collector listens on 127.0.0.1:0 inside the test process and
//! every test checks the lines it receives. Tests synchronise on received
//! events (condvar + timeout), never on sleeps. Each test uses its own lock
//! names, so they can run in parallel against the one shared hook.

mod common;

use common::{lock_name, Collector, Json};
use locklens::sync::{Arc, Barrier, Condvar, Mutex, RwLock};
use std::sync::OnceLock;
use std::thread;
use std::time::Duration;

const TOKEN: &str = "tok-online-7f3a";

fn hook() -> &'static Collector {
    static C: OnceLock<Collector> = OnceLock::new();
    C.get_or_init(|| {
        let c = Collector::start();
        let mut cfg = locklens::Config::new(&c.endpoint(), TOKEN).unwrap();
        cfg.stall = Duration::from_millis(300);
        locklens::start(cfg).expect("hook starts");
        assert!(locklens::enabled());
        c
    })
}

fn is(j: &Json, ty: &str, lock_path: &str, name: &str) -> bool {
    j.ty() == ty && lock_name(j.at(lock_path)) == Some(name)
}

fn this_thread() -> String {
    thread::current().name().unwrap().to_string()
}

#[test]
fn hello_carries_token_and_version_first() {
    let c = hook();
    let m = Mutex::named("online.hello", ());
    drop(m.lock().unwrap());
    let hello = c.wait_for("hello", |j| j.ty() == "hello");
    assert_eq!(hello.get("v").num(), Some(1));
    assert_eq!(hello.get("protocol").str(), Some("locklens-hook"));
    assert_eq!(hello.get("token").str(), Some(TOKEN));
    assert_eq!(hello.get("pid").num(), Some(std::process::id() as u64));
    assert_eq!(hello.at("config.stall_ms").num(), Some(300));
    assert_eq!(c.all()[0].ty(), "hello", "hello must be the first line");
    let (st, ok) = locklens::wait_status(common::TIMEOUT, |s| s.connected);
    assert!(ok, "{st:?}");
    assert!(st.enabled && st.connects >= 1);
}

#[test]
fn contended_wait_names_waiter_holder_and_sites() {
    let c = hook();
    let m = Arc::new(Mutex::named("online.contended", 0u32));
    let holder_line = line!() + 1;
    let g = m.lock().unwrap();
    let m2 = m.clone();
    let waiter_line = line!() + 4;
    let t = thread::Builder::new()
        .name("online-waiter".into())
        .spawn(move || {
            *m2.lock().unwrap() += 1;
        })
        .unwrap();
    let w = c.wait_for("wait event", |j| is(j, "wait", "lock", "online.contended"));
    assert_eq!(w.at("thread.name").str(), Some("online-waiter"));
    assert_eq!(w.get("mode").str(), Some("mutex"));
    assert_eq!(w.at("site.line").num(), Some(waiter_line as u64));
    assert!(w.at("site.file").str().unwrap().ends_with("online.rs"));
    assert_eq!(w.at("lock.class.kind").str(), Some("std.mutex"));
    let holders = w.get("holders").arr();
    assert_eq!(holders.len(), 1, "{w:?}");
    assert_eq!(holders[0].at("thread.name").str(), Some(this_thread().as_str()));
    assert_eq!(holders[0].at("site.line").num(), Some(holder_line as u64));
    assert_eq!(w.at("last.site.line").num(), Some(holder_line as u64));
    assert!(w.at("thread.os_tid").num().is_some());
    drop(g);
    t.join().unwrap();
    assert_eq!(*m.lock().unwrap(), 1);
    // the contended acquisition shows up in the counters, with its wait time
    let s = c.wait_for("snapshot with contention", |j| {
        j.ty() == "snapshot"
            && j.get("entries").arr().iter().any(|e| {
                e.at("class.name").str() == Some("online.contended")
                    && e.at("site.line").num() == Some(waiter_line as u64)
                    && e.get("contended").num() == Some(1)
            })
    });
    let e = s.get("entries").arr().iter().find(|e| e.at("site.line").num() == Some(waiter_line as u64)).unwrap();
    assert!(e.get("wait_ns_total").num().unwrap() > 0);
    assert_eq!(e.get("wait_ns_max").num(), e.get("wait_ns_total").num());
}

#[test]
fn lock_order_edge_is_sent_once_with_both_sites() {
    let c = hook();
    let a = Arc::new(Mutex::named("online.edge.a", ()));
    let b = Arc::new(Mutex::named("online.edge.b", ()));
    let (la, lb) = (line!() + 4, line!() + 5);
    let work = |a: Arc<Mutex<()>>, b: Arc<Mutex<()>>| {
        move || {
            for _ in 0..200 {
                let _ga = a.lock().unwrap();
                let _gb = b.lock().unwrap();
            }
        }
    };
    let ts: Vec<_> = (0..3).map(|_| thread::spawn(work(a.clone(), b.clone()))).collect();
    for t in ts {
        t.join().unwrap();
    }
    work(a.clone(), b.clone())();
    // A later event from this thread is queued after every A->B attempt, so
    // once it arrived, any duplicate would have arrived too.
    let x = Mutex::named("online.edge.sentinel.x", ());
    let y = Mutex::named("online.edge.sentinel.y", ());
    {
        let _gx = x.lock().unwrap();
        let _gy = y.lock().unwrap();
    }
    c.wait_for("sentinel edge", |j| is(j, "edge", "to.lock", "online.edge.sentinel.y"));
    let edges: Vec<Json> = c.all().into_iter().filter(|j| is(j, "edge", "from.lock", "online.edge.a")).collect();
    assert_eq!(edges.len(), 1, "{edges:#?}");
    let e = &edges[0];
    assert_eq!(lock_name(e.at("to.lock")), Some("online.edge.b"));
    assert_eq!(e.at("from.site.line").num(), Some(la as u64));
    assert_eq!(e.at("to.site.line").num(), Some(lb as u64));
    assert_eq!(e.at("from.mode").str(), Some("mutex"));
    // the reverse order never happened
    assert!(!c.all().iter().any(|j| is(j, "edge", "from.lock", "online.edge.b")));
}

#[test]
fn abba_deadlock_is_detected_with_both_threads_locks_and_sites() {
    let c = hook();
    let odb = Arc::new(Mutex::named("online.ODB", ()));
    let sysmsg = Arc::new(Mutex::named("online.SYSMSG", ()));
    let barrier = Arc::new(Barrier::new(2));
    let lines = [line!() + 7, line!() + 9, line!() + 16, line!() + 18];
    {
        let (odb, sysmsg, barrier) = (odb.clone(), sysmsg.clone(), barrier.clone());
        thread::Builder::new()
            .name("abba-db".into())
            .spawn(move || {
                // leaked on purpose: this thread stays deadlocked
                let _o = odb.lock().unwrap();
                barrier.wait();
                let _s = sysmsg.lock().unwrap();
            })
            .unwrap();
    }
    thread::Builder::new()
        .name("abba-msg".into())
        .spawn(move || {
            let _s = sysmsg.lock().unwrap();
            barrier.wait();
            let _o = odb.lock().unwrap();
        })
        .unwrap();
    let d = c.wait_for("deadlock", |j| {
        j.ty() == "deadlock"
            && j.get("cycle").arr().iter().any(|n| lock_name(n.get("waits_for")) == Some("online.ODB"))
    });
    assert_eq!(d.get("action").str(), Some("report"));
    let cycle = d.get("cycle").arr();
    assert_eq!(cycle.len(), 2, "{d:?}");
    let node = |name: &str| cycle.iter().find(|n| n.at("thread.name").str() == Some(name)).expect(name);
    let db = node("abba-db");
    let msg = node("abba-msg");
    assert_eq!(lock_name(db.get("waits_for")), Some("online.SYSMSG"));
    assert_eq!(db.at("site.line").num(), Some(lines[1] as u64));
    assert_eq!(lock_name(db.at("holds.0.lock")), Some("online.ODB"));
    assert_eq!(db.at("holds.0.site.line").num(), Some(lines[0] as u64));
    assert_eq!(lock_name(msg.get("waits_for")), Some("online.ODB"));
    assert_eq!(msg.at("site.line").num(), Some(lines[3] as u64));
    assert_eq!(msg.at("holds.0.site.line").num(), Some(lines[2] as u64));
    assert_eq!(db.get("held_by").arr(), &[msg.at("thread.id").clone()]);
    assert_eq!(msg.get("held_by").arr(), &[db.at("thread.id").clone()]);
    assert!(locklens::status().deadlocks >= 1);
    // reported once per deadlock, though the background scan sees it again
    // every 100 ms: wait for two later snapshots, then count.
    let seq = c.all().iter().filter(|j| j.ty() == "snapshot").count();
    c.wait_for_n("two more snapshots", seq + 2, |j| j.ty() == "snapshot");
    let n = c
        .all()
        .iter()
        .filter(|j| j.ty() == "deadlock" && j.get("cycle").arr().iter().any(|n| lock_name(n.get("waits_for")) == Some("online.ODB")))
        .count();
    assert_eq!(n, 1);
}

#[test]
fn read_guard_kept_into_else_arm_is_a_self_deadlock() {
    let c = hook();
    let catalog = Arc::new(RwLock::named("online.catalog", std::collections::HashMap::<u32, u32>::new()));
    let (read_line, write_line) = (line!() + 6, line!() + 9);
    let cat = catalog.clone();
    thread::Builder::new()
        .name("fly-lazy-load".into())
        .spawn(move || {
            // the Fly.io bug: the read guard lives until the end of if-let/else
            if let Some(v) = cat.read().unwrap().get(&1) {
                println!("{v}");
            } else {
                cat.write().unwrap().insert(1, 1);
            }
        })
        .unwrap();
    let d = c.wait_for("self deadlock", |j| {
        j.ty() == "deadlock" && j.get("cycle").arr().iter().any(|n| lock_name(n.get("waits_for")) == Some("online.catalog"))
    });
    let cycle = d.get("cycle").arr();
    assert_eq!(cycle.len(), 1, "{d:?}");
    let n = &cycle[0];
    assert_eq!(n.at("thread.name").str(), Some("fly-lazy-load"));
    assert_eq!(n.get("mode").str(), Some("write"));
    assert_eq!(n.at("site.line").num(), Some(write_line as u64));
    assert_eq!(n.get("held_by").arr(), &[n.at("thread.id").clone()]);
    assert_eq!(lock_name(n.at("holds.0.lock")), Some("online.catalog"));
    assert_eq!(n.at("holds.0.mode").str(), Some("read"));
    assert_eq!(n.at("holds.0.site.line").num(), Some(read_line as u64));
}

#[test]
fn long_wait_is_reported_as_stall_with_current_and_last_holder() {
    let c = hook();
    let m = Arc::new(RwLock::named("online.stall", 0u64));
    let hold_line = line!() + 1;
    let g = m.write().unwrap();
    let m2 = m.clone();
    let t = thread::Builder::new()
        .name("stalled-reader".into())
        .spawn(move || *m2.read().unwrap())
        .unwrap();
    let s = c.wait_for("stall", |j| is(j, "stall", "lock", "online.stall"));
    assert_eq!(s.at("thread.name").str(), Some("stalled-reader"));
    assert_eq!(s.get("mode").str(), Some("read"));
    assert!(s.get("waited_ms").num().unwrap() >= 300);
    let h = &s.get("holders").arr()[0];
    assert_eq!(h.at("thread.name").str(), Some(this_thread().as_str()));
    assert_eq!(h.get("mode").str(), Some("write"));
    assert_eq!(h.at("site.line").num(), Some(hold_line as u64));
    assert_eq!(s.at("last.mode").str(), Some("write"));
    assert_eq!(s.at("last.site.line").num(), Some(hold_line as u64));
    drop(g);
    assert_eq!(t.join().unwrap(), 0);
    assert!(locklens::status().stalls >= 1);
}

#[test]
fn snapshots_count_acquisitions_and_sample_hold_times() {
    let c = hook();
    let m = Mutex::named("online.counted", 0u64);
    let line = line!() + 2;
    for _ in 0..1000 {
        *m.lock().unwrap() += 1;
    }
    let s = c.wait_for("snapshot with 1000 acquisitions", |j| {
        j.ty() == "snapshot"
            && j.get("entries").arr().iter().any(|e| {
                e.at("class.name").str() == Some("online.counted") && e.get("acquisitions").num() == Some(1000)
            })
    });
    let e = s.get("entries").arr().iter().find(|e| e.at("class.name").str() == Some("online.counted")).unwrap();
    assert_eq!(e.at("site.line").num(), Some(line as u64));
    assert_eq!(e.get("mode").str(), Some("mutex"));
    assert_eq!(e.get("contended").num(), Some(0));
    // the first and then one in 64 of this (class, site) in this thread:
    // acquisitions 0, 64, .., 960
    assert_eq!(e.get("hold_samples").num(), Some(16));
    assert!(e.get("hold_ns_max").num().unwrap() <= e.get("hold_ns_total").num().unwrap());
}

#[test]
fn locks_taken_in_a_fixed_rotation_are_all_sampled() {
    // Sampling counts per (class, site, mode), so a rotation whose length
    // divides the sampling period (here two locks, one nested) does not
    // leave one of them unsampled.
    let c = hook();
    let outer = Mutex::named("online.rotation.outer", ());
    let inner = Mutex::named("online.rotation.inner", ());
    for _ in 0..128 {
        let _o = outer.lock().unwrap();
        drop(inner.lock().unwrap());
    }
    let samples = |j: &Json, name: &str| {
        j.get("entries").arr().iter().find(|e| e.at("class.name").str() == Some(name)).and_then(|e| e.get("hold_samples").num())
    };
    c.wait_for("snapshot with both locks sampled twice", |j| {
        j.ty() == "snapshot"
            && samples(j, "online.rotation.outer") == Some(2)
            && samples(j, "online.rotation.inner") == Some(2)
    });
}

#[test]
fn condvar_releases_the_mutex_while_waiting() {
    let c = hook();
    let pair = Arc::new((Mutex::named("online.cv", false), Condvar::new()));
    let p2 = pair.clone();
    let t = thread::spawn(move || {
        let (m, cv) = &*p2;
        let g = cv.wait_while(m.lock().unwrap(), |ready| !*ready).unwrap();
        assert!(*g);
    });
    // The waiter may or may not be waiting yet; either way we get the lock.
    *pair.0.lock().unwrap() = true;
    pair.1.notify_all();
    t.join().unwrap();
    // After the condvar dance the held set must be balanced: taking two
    // other locks in order produces an edge from the first to the second
    // only, not from the condvar mutex.
    let p = Mutex::named("online.cv.after.p", ());
    let q = Mutex::named("online.cv.after.q", ());
    {
        let _gp = p.lock().unwrap();
        let _gq = q.lock().unwrap();
    }
    c.wait_for("edge p->q", |j| is(j, "edge", "from.lock", "online.cv.after.p"));
    assert!(!c.all().iter().any(|j| is(j, "edge", "from.lock", "online.cv")));
}

#[test]
fn poisoning_works_and_unwinding_releases_tracking() {
    let c = hook();
    let m = Arc::new(Mutex::named("online.poison", 5));
    let m2 = m.clone();
    let r = thread::spawn(move || {
        let _g = m2.lock().unwrap();
        panic!("boom (expected by the test)");
    })
    .join();
    assert!(r.is_err());
    assert!(m.is_poisoned());
    let g = m.lock().unwrap_err().into_inner();
    assert_eq!(*g, 5);
    drop(g);
    m.clear_poison();
    assert!(!m.is_poisoned());
    // nested acquisition after the poison: the panicking thread's hold was
    // released, so no edge from "online.poison" appears from this thread.
    let z = Mutex::named("online.poison.z", ());
    {
        let _gz = z.lock().unwrap();
        let _gm = m.lock().unwrap();
    }
    let e = c.wait_for("edge z->poison", |j| is(j, "edge", "from.lock", "online.poison.z"));
    assert_eq!(lock_name(e.at("to.lock")), Some("online.poison"));
}

#[test]
fn flush_writes_the_latest_counters() {
    let c = hook();
    let m = Mutex::named("online.flush", ());
    for _ in 0..7 {
        drop(m.lock().unwrap());
    }
    let before = locklens::status().sent;
    assert!(locklens::flush(common::TIMEOUT));
    assert!(locklens::status().sent > before, "flush wrote a snapshot");
    c.wait_for("flushed counters", |j| {
        j.ty() == "snapshot"
            && j.get("entries").arr().iter().any(|e| {
                e.at("class.name").str() == Some("online.flush") && e.get("acquisitions").num() == Some(7)
            })
    });
}

#[test]
fn lock_order_inversion_is_reported_before_any_deadlock() {
    let c = hook();
    let odb = Mutex::named("online.inv.ODB", ());
    let sysmsg = Mutex::named("online.inv.SYSMSG", ());
    let (l1, l2) = (line!() + 3, line!() + 4);
    // db_set_value(): ODB, then cm_msg() -> SYSMSG
    {
        let _o = odb.lock().unwrap();
        let _s = sysmsg.lock().unwrap();
    }
    let (l3, l4) = (line!() + 3, line!() + 4);
    // later, cm_msg() -> SYSMSG, then an ODB lookup: never concurrent here
    {
        let _s = sysmsg.lock().unwrap();
        let _o = odb.lock().unwrap();
    }
    let cyc = c.wait_for("order_cycle", |j| {
        j.ty() == "order_cycle" && j.get("edges").arr().iter().any(|e| lock_name(e.at("from.lock")) == Some("online.inv.ODB"))
    });
    let edges = cyc.get("edges").arr();
    assert_eq!(edges.len(), 2, "{cyc:?}");
    assert_eq!(lock_name(edges[0].at("from.lock")), Some("online.inv.ODB"));
    assert_eq!(edges[0].at("from.site.line").num(), Some(l1 as u64));
    assert_eq!(edges[0].at("to.site.line").num(), Some(l2 as u64));
    assert_eq!(lock_name(edges[1].at("from.lock")), Some("online.inv.SYSMSG"));
    assert_eq!(edges[1].at("from.site.line").num(), Some(l3 as u64));
    assert_eq!(edges[1].at("to.site.line").num(), Some(l4 as u64));
    // no deadlock happened
    assert!(!c.all().iter().any(|j| j.ty() == "deadlock"
        && j.get("cycle").arr().iter().any(|n| lock_name(n.get("waits_for")) == Some("online.inv.ODB"))));
}

#[test]
fn locks_used_in_thread_local_destructors_after_the_hook_s_own() {
    hook();
    static LATE: Mutex<u32> = Mutex::named("online.tls.late", 0);
    struct LockOnDrop;
    impl Drop for LockOnDrop {
        fn drop(&mut self) {
            // runs during thread teardown, possibly after LockLens' own
            // per-thread state was released
            *LATE.lock().unwrap() += 1;
        }
    }
    thread_local! { static D: LockOnDrop = const { LockOnDrop }; }
    thread::spawn(|| {
        D.with(|_| ()); // registered before the hook's per-thread state
        *LATE.lock().unwrap() += 1;
    })
    .join()
    .unwrap();
    assert_eq!(*LATE.lock().unwrap(), 2);
}

#[test]
fn try_failures_and_rwlock_modes_are_counted_per_site() {
    let c = hook();
    let l = RwLock::named("online.tries", 0);
    let (read_line, try_line) = (line!() + 2, line!() + 4);
    {
        let _r = l.read().unwrap();
        for _ in 0..3 {
            assert!(l.try_write().is_err());
        }
    }
    let write_line = line!() + 1;
    *l.write().unwrap() += 1;
    let _ = format!("{l:?}"); // Debug peeks with try_read: not an acquisition
    let s = c.wait_for("tries counted", |j| {
        j.ty() == "snapshot"
            && j.get("entries").arr().iter().any(|e| {
                e.at("class.name").str() == Some("online.tries") && e.get("try_failed").num() == Some(3)
            })
    });
    let find = |line: u32| {
        s.get("entries")
            .arr()
            .iter()
            .find(|e| e.at("class.name").str() == Some("online.tries") && e.at("site.line").num() == Some(line as u64))
            .cloned()
    };
    let t = find(try_line).expect("try_write site");
    assert_eq!(t.get("mode").str(), Some("write"));
    assert_eq!(t.get("acquisitions").num(), Some(0));
    // the other sites may have been sent in an earlier snapshot: look at all
    let all = c.all();
    let latest = |line: u32| {
        all.iter()
            .filter(|j| j.ty() == "snapshot")
            .flat_map(|j| j.get("entries").arr().to_vec())
            .rfind(|e| e.at("class.name").str() == Some("online.tries") && e.at("site.line").num() == Some(line as u64))
    };
    let r = latest(read_line).expect("read site");
    assert_eq!((r.get("mode").str(), r.get("acquisitions").num()), (Some("read"), Some(1)));
    let w = latest(write_line).expect("write site");
    assert_eq!((w.get("mode").str(), w.get("acquisitions").num()), (Some("write"), Some(1)));
    // Debug's peek is not counted anywhere
    let total: u64 =
        [read_line, write_line, try_line].iter().filter_map(|l| latest(*l)).map(|e| e.get("acquisitions").num().unwrap()).sum();
    assert_eq!(total, 2);
}

#[test]
fn nested_edges_are_sent_once_each_however_the_patterns_interleave() {
    // The per-held-slot memo of the last checked pair is overwritten when
    // the nesting pattern changes (A->B, then A->C, then A->B again) and
    // deeper nesting checks every held lock: each class pair still goes
    // out exactly once, with the sites of its first sighting.
    let c = hook();
    let a = Mutex::named("online.memo.a", ());
    let b = Mutex::named("online.memo.b", ());
    let d = Mutex::named("online.memo.c", ());
    let (la, lb, lc) = (line!() + 2, line!() + 4, line!() + 7);
    for i in 0..300 {
        let _ga = a.lock().unwrap();
        if i % 2 == 0 {
            let _gb = b.lock().unwrap();
            if i % 3 == 0 {
                // three deep: A, B held while C is taken
                let _gc = d.lock().unwrap();
            }
        } else {
            let _gc = d.lock().unwrap();
        }
    }
    let x = Mutex::named("online.memo.sentinel.x", ());
    let y = Mutex::named("online.memo.sentinel.y", ());
    {
        let _gx = x.lock().unwrap();
        let _gy = y.lock().unwrap();
    }
    c.wait_for("sentinel edge", |j| is(j, "edge", "to.lock", "online.memo.sentinel.y"));
    let all = c.all();
    let edges = |from: &str, to: &str| -> Vec<Json> {
        all.iter().filter(|j| is(j, "edge", "from.lock", from) && lock_name(j.at("to.lock")) == Some(to)).cloned().collect()
    };
    let ab = edges("online.memo.a", "online.memo.b");
    let ac = edges("online.memo.a", "online.memo.c");
    let bc = edges("online.memo.b", "online.memo.c");
    assert_eq!((ab.len(), ac.len(), bc.len()), (1, 1, 1), "{ab:#?} {ac:#?} {bc:#?}");
    assert_eq!(ab[0].at("from.site.line").num(), Some(la as u64));
    assert_eq!(ab[0].at("to.site.line").num(), Some(lb as u64));
    // A->C was first seen three deep (i = 0), at the inner site
    assert_eq!(ac[0].at("from.site.line").num(), Some(la as u64));
    assert_eq!(ac[0].at("to.site.line").num(), Some(lc as u64));
    assert_eq!(bc[0].at("from.site.line").num(), Some(lb as u64));
    assert_eq!(bc[0].at("to.site.line").num(), Some(lc as u64));
    assert!(!all.iter().any(|j| is(j, "edge", "from.lock", "online.memo.c")));
}

#[test]
fn sampled_hold_time_is_measured_in_nanoseconds() {
    // The first tracked acquisition of a thread is sampled; its hold time
    // comes from the sample clock (TSC where invariant) converted to ns.
    let c = hook();
    let m = Arc::new(Mutex::named("online.sampled.hold", ()));
    let m2 = m.clone();
    let held = Duration::from_millis(20);
    let outer = thread::spawn(move || {
        let t0 = std::time::Instant::now();
        {
            let _g = m2.lock().unwrap();
            let t = std::time::Instant::now();
            while t.elapsed() < held {
                std::hint::spin_loop();
            }
        }
        t0.elapsed()
    })
    .join()
    .unwrap();
    let s = c.wait_for("snapshot with the sampled hold", |j| {
        j.ty() == "snapshot"
            && j.get("entries").arr().iter().any(|e| {
                e.at("class.name").str() == Some("online.sampled.hold") && e.get("hold_samples").num() == Some(1)
            })
    });
    let e = s.get("entries").arr().iter().find(|e| e.at("class.name").str() == Some("online.sampled.hold")).unwrap();
    let ns = e.get("hold_ns_max").num().unwrap();
    // within the wall-clock bounds around the hold (1 % for calibration)
    assert!(ns >= held.as_nanos() as u64 * 99 / 100, "{ns} < {held:?}");
    assert!(ns <= outer.as_nanos() as u64 * 101 / 100, "{ns} > {outer:?}");
    assert_eq!(e.get("hold_ns_total").num(), Some(ns));
}

#[test]
fn snapshots_list_current_holders_even_without_waiters() {
    // Nobody waits for this lock, so no `wait` event names its holder: the
    // periodic snapshot does, from the threads' held-lock stacks.
    let c = hook();
    let m = Arc::new(Mutex::named("online.snapshot.holder", ()));
    let (held_tx, held_rx) = std::sync::mpsc::channel::<()>();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let m2 = m.clone();
    let line = line!() + 4;
    let t = thread::Builder::new()
        .name("snapshot-holder".into())
        .spawn(move || {
            let _g = m2.lock().unwrap();
            held_tx.send(()).unwrap();
            release_rx.recv().unwrap();
        })
        .unwrap();
    held_rx.recv().unwrap();
    let holds = |j: &Json| {
        j.ty() == "snapshot" && j.get("holders").arr().iter().any(|h| lock_name(h.get("lock")) == Some("online.snapshot.holder"))
    };
    let s = c.wait_for("snapshot listing the holder", holds);
    let h = s.get("holders").arr().iter().find(|h| lock_name(h.get("lock")) == Some("online.snapshot.holder")).unwrap().clone();
    assert_eq!(h.at("thread.name").str(), Some("snapshot-holder"));
    assert_eq!(h.get("mode").str(), Some("mutex"));
    assert_eq!(h.at("site.line").num(), Some(line as u64));
    assert!(h.get("since_ms").num().unwrap() <= s.get("t_ms").num().unwrap());
    let seq = s.get("seq").num().unwrap();
    release_tx.send(()).unwrap();
    t.join().unwrap();
    // a snapshot taken after the release no longer lists it
    let after = c.wait_for("snapshot after the release", |j| {
        j.ty() == "snapshot" && j.get("seq").num().unwrap_or(0) > seq && !holds(j)
    });
    assert!(after.get("holders").arr().iter().all(|h| lock_name(h.get("lock")) != Some("online.snapshot.holder")));
}

#[test]
fn out_of_order_releases_leave_no_stale_holds() {
    // A guard dropped while locks taken after it are still held leaves a
    // hole in the thread's held stack (the later guards know their slot's
    // position). Holes must never be listed as holders, and must not pile
    // up: after many such releases a nested pair is still tracked.
    let c = hook();
    let a = Arc::new(Mutex::named("online.ooo.a", ()));
    let b = Arc::new(Mutex::named("online.ooo.b", ()));
    let d = Arc::new(Mutex::named("online.ooo.c", ()));
    let s = Arc::new(Mutex::named("online.ooo.sentinel", ()));
    let (held_tx, held_rx) = std::sync::mpsc::channel::<()>();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let t = thread::Builder::new()
        .name("ooo".into())
        .spawn(move || {
            // more than MAX_HELD (32) rounds, so leaked holes would overflow
            // the stack; some releases are sampled (1 in 64)
            for _ in 0..200 {
                let ga = a.lock().unwrap();
                let gb = b.lock().unwrap();
                drop(ga);
                drop(gb);
            }
            let ga = a.lock().unwrap();
            let gb = b.lock().unwrap();
            let gc = d.lock().unwrap();
            drop(gb);
            held_tx.send(()).unwrap();
            go_rx.recv().unwrap();
            drop(ga);
            drop(gc);
            let _gs = s.lock().unwrap();
            held_tx.send(()).unwrap();
            go_rx.recv().unwrap();
        })
        .unwrap();
    let mine = |j: &Json| -> Vec<String> {
        let mut v: Vec<String> = j
            .get("holders")
            .arr()
            .iter()
            .filter(|h| h.at("thread.name").str() == Some("ooo"))
            .filter_map(|h| lock_name(h.get("lock")).map(str::to_string))
            .collect();
        v.sort();
        v
    };
    held_rx.recv().unwrap();
    // A and C held, B (released between them) not
    let s1 = c.wait_for("snapshot with A and C held", |j| j.ty() == "snapshot" && mine(j).len() >= 2);
    assert_eq!(mine(&s1), ["online.ooo.a", "online.ooo.c"]);
    go_tx.send(()).unwrap();
    held_rx.recv().unwrap();
    let s2 = c.wait_for("snapshot with the sentinel held", |j| {
        j.ty() == "snapshot" && mine(j).iter().any(|n| n == "online.ooo.sentinel")
    });
    assert_eq!(mine(&s2), ["online.ooo.sentinel"]);
    go_tx.send(()).unwrap();
    t.join().unwrap();
    // one A->B edge and one A->C edge (C was taken with A and B held), no
    // edge from B to C's sentinel or from a hole
    let all = c.all();
    let from_a: Vec<&Json> = all.iter().filter(|j| is(j, "edge", "from.lock", "online.ooo.a")).collect();
    assert_eq!(from_a.len(), 2, "{from_a:#?}");
    assert!(!all.iter().any(|j| is(j, "edge", "to.lock", "online.ooo.sentinel")));
}

#[test]
fn edges_to_many_classes_are_sent_once_each() {
    // More class pairs than a thread's edge cache has slots (256), visited
    // twice in different orders: evicted pairs are found in the global
    // graph again, never re-sent.
    let c = hook();
    const N: usize = 600;
    let h = Mutex::named("online.many.held", ());
    let locks: Vec<Mutex<()>> = (0..N).map(|i| Mutex::named(Box::leak(format!("online.many.{i}").into_boxed_str()), ())).collect();
    for pass in 0..3 {
        let _g = h.lock().unwrap();
        for i in 0..N {
            let l = &locks[if pass == 1 { N - 1 - i } else { i * 7 % N }];
            drop(l.lock().unwrap());
        }
    }
    let x = Mutex::named("online.many.sentinel.x", ());
    let y = Mutex::named("online.many.sentinel.y", ());
    {
        let _gx = x.lock().unwrap();
        let _gy = y.lock().unwrap();
    }
    c.wait_for("sentinel edge", |j| is(j, "edge", "to.lock", "online.many.sentinel.y"));
    let mut to: Vec<String> = c
        .all()
        .iter()
        .filter(|j| is(j, "edge", "from.lock", "online.many.held"))
        .map(|j| lock_name(j.at("to.lock")).unwrap().to_string())
        .collect();
    assert_eq!(to.len(), N);
    to.sort();
    to.dedup();
    assert_eq!(to.len(), N, "an edge was sent twice");
}
