//! `locklens::parking_lot` against Debian's parking_lot 0.12, hook on.
#![cfg(feature = "parking_lot")]

mod common;

use common::{lock_name, Collector, Json};
use locklens::parking_lot::{Condvar, Mutex, ReentrantMutex, RwLock, RwLockUpgradableReadGuard, RwLockWriteGuard};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

fn hook() -> &'static Collector {
    static C: OnceLock<Collector> = OnceLock::new();
    C.get_or_init(|| {
        let c = Collector::start();
        let mut cfg = locklens::Config::new(&c.endpoint(), "tok-pl").unwrap();
        cfg.stall = Duration::from_millis(250);
        locklens::start(cfg).unwrap();
        c
    })
}

fn deadlock_on(c: &Collector, name: &str) -> Json {
    c.wait_for(name, |j| j.ty() == "deadlock" && j.get("cycle").arr().iter().any(|n| lock_name(n.get("waits_for")) == Some(name)))
}

#[test]
fn mutex_api_and_static_const() {
    hook();
    static M: Mutex<u32> = Mutex::new(1);
    *M.lock() += 1;
    assert_eq!(*M.lock(), 2);
    let g = M.lock();
    assert!(M.is_locked());
    assert!(M.try_lock().is_none());
    let t0 = Instant::now();
    assert!(M.try_lock_for(Duration::from_millis(20)).is_none());
    assert!(t0.elapsed() >= Duration::from_millis(20));
    drop(g);
    assert_eq!(*M.try_lock_for(Duration::from_millis(20)).unwrap(), 2);
    let mut m = Mutex::named("pl.owned", vec![1]);
    m.get_mut().push(2);
    assert_eq!(m.into_inner(), vec![1, 2]);
}

#[test]
fn rwlock_api() {
    hook();
    let l = RwLock::new(5);
    {
        let r = l.read();
        let r2 = l.read_recursive();
        assert_eq!(*r + *r2, 10);
        assert!(l.try_write().is_none());
        assert!(l.try_write_for(Duration::from_millis(5)).is_none());
    }
    {
        let u = l.upgradable_read();
        assert!(l.try_upgradable_read().is_none());
        let r = l.try_read().unwrap(); // readers coexist with an upgradable
        drop(r);
        let mut w = RwLockUpgradableReadGuard::upgrade(u);
        *w += 1;
        let u = RwLockWriteGuard::downgrade_to_upgradable(w);
        let w = RwLockUpgradableReadGuard::try_upgrade(u).ok().unwrap();
        let r = RwLockWriteGuard::downgrade(w);
        assert_eq!(*r, 6);
        assert!(l.is_locked() && !l.is_locked_exclusive());
    }
    assert_eq!(l.into_inner(), 6);
}

#[test]
fn reentrant_mutex_relocks_without_wait_or_edge() {
    let c = hook();
    let r = ReentrantMutex::named("pl.reentrant", 1);
    let line = line!() + 1;
    let a = r.lock();
    let b = r.lock();
    assert!(r.is_owned_by_current_thread());
    assert_eq!(*a + *b, 2);
    drop((a, b));
    // a sentinel edge from this thread proves nothing about pl.reentrant was queued
    let x = Mutex::named("pl.reentrant.x", ());
    let y = Mutex::named("pl.reentrant.y", ());
    {
        let _x = x.lock();
        let _y = y.lock();
    }
    c.wait_for("sentinel", |j| j.ty() == "edge" && lock_name(j.at("from.lock")) == Some("pl.reentrant.x"));
    let mentions = |j: &Json| {
        ["from.lock", "to.lock", "lock"].iter().any(|p| lock_name(j.at(p)) == Some("pl.reentrant"))
            || j.get("cycle").arr().iter().any(|n| lock_name(n.get("waits_for")) == Some("pl.reentrant"))
    };
    assert!(!c.all().iter().any(|j| j.ty() != "snapshot" && mentions(j)));
    let s = c.wait_for("reentrant counters", |j| {
        j.ty() == "snapshot"
            && j.get("entries").arr().iter().any(|e| {
                e.at("class.name").str() == Some("pl.reentrant") && e.get("acquisitions").num() == Some(1)
            })
    });
    let e = s.get("entries").arr().iter().find(|e| e.at("class.name").str() == Some("pl.reentrant")).unwrap();
    assert_eq!(e.get("mode").str(), Some("reentrant"));
    assert_eq!(e.at("class.kind").str(), Some("parking_lot.reentrant_mutex"));
    assert_eq!(e.at("site.line").num(), Some(line as u64));
}

#[test]
fn upgrade_waiting_for_readers_is_not_a_deadlock() {
    let c = hook();
    let l = Arc::new(RwLock::named("pl.upgrade", 0));
    let (reader_has_it, rx) = mpsc::channel();
    let (release, release_rx) = mpsc::channel::<()>();
    let l2 = l.clone();
    let reader = thread::spawn(move || {
        let _r = l2.read();
        reader_has_it.send(()).unwrap();
        release_rx.recv().unwrap();
    });
    rx.recv().unwrap();
    let l3 = l.clone();
    let upgrader = thread::Builder::new()
        .name("upgrader".into())
        .spawn(move || {
            let u = l3.upgradable_read();
            let mut w = RwLockUpgradableReadGuard::upgrade(u);
            *w += 1;
        })
        .unwrap();
    let w = c.wait_for("upgrade wait", |j| j.ty() == "wait" && lock_name(j.get("lock")) == Some("pl.upgrade"));
    assert_eq!(w.get("mode").str(), Some("write"));
    assert_eq!(w.at("thread.name").str(), Some("upgrader"));
    let modes: Vec<&str> = w.get("holders").arr().iter().map(|h| h.get("mode").str().unwrap()).collect();
    assert!(modes.contains(&"read") && modes.contains(&"upgradable"), "{modes:?}");
    release.send(()).unwrap();
    reader.join().unwrap();
    upgrader.join().unwrap();
    assert_eq!(*l.read(), 1);
    // one more scan interval: no deadlock was reported for it
    let n = c.all().iter().filter(|j| j.ty() == "snapshot").count();
    c.wait_for_n("later snapshots", n + 2, |j| j.ty() == "snapshot");
    assert!(!c.all().iter().any(|j| j.ty() == "deadlock"
        && j.get("cycle").arr().iter().any(|n| lock_name(n.get("waits_for")) == Some("pl.upgrade"))));
}

#[test]
fn recursive_read_behind_a_waiting_writer_deadlocks_but_read_recursive_does_not() {
    let c = hook();
    // read_recursive: fine even with a writer queued
    let ok = Arc::new(RwLock::named("pl.recursive.ok", 0));
    let r1 = ok.read();
    let ok2 = ok.clone();
    let writer = thread::spawn(move || *ok2.write() += 1);
    c.wait_for("writer queued", |j| j.ty() == "wait" && lock_name(j.get("lock")) == Some("pl.recursive.ok"));
    until_writer_blocks_readers(&ok);
    let r2 = ok.read_recursive();
    assert_eq!(*r1 + *r2, 0);
    drop((r1, r2));
    writer.join().unwrap();

    // plain read() again behind the queued writer: a real deadlock
    let bad = Arc::new(RwLock::named("pl.recursive.bad", 0));
    let (queued_tx, queued_rx) = mpsc::channel::<()>();
    let bad2 = bad.clone();
    thread::Builder::new()
        .name("reader-twice".into())
        .spawn(move || {
            let _r1 = bad2.read();
            let bad3 = bad2.clone();
            thread::Builder::new().name("queued-writer".into()).spawn(move || *bad3.write() += 1).unwrap();
            queued_rx.recv().unwrap();
            until_writer_blocks_readers(&bad2);
            let _r2 = bad2.read(); // blocks behind the writer, which waits for _r1
        })
        .unwrap();
    c.wait_for("writer queued on bad", |j| j.ty() == "wait" && lock_name(j.get("lock")) == Some("pl.recursive.bad"));
    queued_tx.send(()).unwrap();
    let d = deadlock_on(c, "pl.recursive.bad");
    let names: Vec<&str> = d.get("cycle").arr().iter().map(|n| n.at("thread.name").str().unwrap()).collect();
    assert!(names.contains(&"reader-twice"), "{d:?}");
    assert!(!c.all().iter().any(|j| j.ty() == "deadlock"
        && j.get("cycle").arr().iter().any(|n| lock_name(n.get("waits_for")) == Some("pl.recursive.ok"))));
}

/// The writer's `wait` event is sent just before it blocks; parking_lot
/// turns new readers away only once the writer has announced itself in the
/// lock word. Wait for that state (observable through `try_read`).
fn until_writer_blocks_readers<T>(l: &RwLock<T>) {
    let deadline = Instant::now() + common::TIMEOUT;
    while l.try_read().is_some() {
        assert!(Instant::now() < deadline, "writer never queued");
        thread::yield_now();
    }
}

#[test]
fn flyio_if_let_with_parking_lot_is_a_self_deadlock() {
    let c = hook();
    let load = Arc::new(RwLock::named("pl.catalog", std::collections::HashMap::<u32, u32>::new()));
    let l = load.clone();
    thread::spawn(move || {
        if let Some(v) = l.read().get(&1) {
            println!("{v}");
        } else {
            l.write().insert(1, 1);
        }
    });
    let d = deadlock_on(c, "pl.catalog");
    let n = &d.get("cycle").arr()[0];
    assert_eq!(d.get("cycle").arr().len(), 1);
    assert_eq!(n.at("holds.0.mode").str(), Some("read"));
    assert_eq!(n.get("mode").str(), Some("write"));
    assert_eq!(n.at("waits_for.class.kind").str(), Some("parking_lot.rwlock"));
}

#[test]
fn timed_abba_is_reported_as_timed_and_times_out() {
    let c = hook();
    let a = Arc::new(Mutex::named("pl.timed.a", ()));
    let b = Arc::new(Mutex::named("pl.timed.b", ()));
    let barrier = Arc::new(Barrier::new(2));
    let (a1, b1, bar1) = (a.clone(), b.clone(), barrier.clone());
    let t1 = thread::spawn(move || {
        let _a = a1.lock();
        bar1.wait();
        // a timed wait: the cycle is real but ends when this gives up
        b1.try_lock_for(Duration::from_millis(1500)).is_some()
    });
    let t2 = thread::spawn(move || {
        let _b = b.lock();
        barrier.wait();
        drop(a.lock());
    });
    let d = deadlock_on(c, "pl.timed.b");
    assert_eq!(d.get("action").str(), Some("report"));
    let timed: Vec<bool> =
        d.get("cycle").arr().iter().map(|n| n.get("timed") == &Json::Bool(true)).collect();
    assert_eq!(timed.iter().filter(|t| **t).count(), 1, "{d:?}");
    assert!(!t1.join().unwrap(), "try_lock_for must time out");
    t2.join().unwrap();
}

#[test]
fn condvar_with_tracked_guards() {
    hook();
    let pair = Arc::new((Mutex::named("pl.cv", 0), Condvar::new()));
    let p2 = pair.clone();
    let t = thread::spawn(move || {
        for _ in 0..10 {
            *p2.0.lock() += 1;
            p2.1.notify_all();
        }
    });
    let mut g = pair.0.lock();
    pair.1.wait_while(&mut g, |n| *n < 10);
    assert_eq!(*g, 10);
    let r = pair.1.wait_for(&mut g, Duration::from_millis(5));
    assert!(r.timed_out());
    drop(g);
    t.join().unwrap();
}


#[test]
fn guards_are_sync_but_not_send() {
    fn is_sync<T: Sync>() {}
    is_sync::<locklens::parking_lot::MutexGuard<'static, u8>>();
    is_sync::<locklens::parking_lot::RwLockReadGuard<'static, u8>>();
    is_sync::<locklens::parking_lot::ReentrantMutexGuard<'static, u8>>();
    // `fn is_send<T: Send>() {} is_send::<MutexGuard<u8>>()` does not compile
}
