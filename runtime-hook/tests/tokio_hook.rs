//! `locklens::tokio` against Debian's tokio 1.24 (`sync` only), hook on.
//! tokio's sync locks need no runtime; each "task" here is a future driven
//! by a tiny block_on on its own thread.
#![cfg(feature = "tokio")]

mod common;

use common::{lock_name, Collector};
use locklens::tokio::{Mutex, RwLock};
use std::future::Future;
use std::pin::pin;
use std::sync::{mpsc, Arc, OnceLock};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::Duration;

struct Unpark(Thread);
impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

fn block_on<F: Future>(f: F) -> F::Output {
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut f = pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        thread::park();
    }
}

fn hook() -> &'static Collector {
    static C: OnceLock<Collector> = OnceLock::new();
    C.get_or_init(|| {
        let c = Collector::start();
        let mut cfg = locklens::Config::new(&c.endpoint(), "tok-tokio").unwrap();
        cfg.stall = Duration::from_millis(250);
        locklens::start(cfg).unwrap();
        c
    })
}

#[test]
fn contended_async_mutex_reports_wait_and_stall_with_holder_task() {
    let c = hook();
    let m = Arc::new(Mutex::named("tokio.m", 0u32));
    let (held_tx, held_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let m1 = m.clone();
    let hold_line = line!() + 5;
    let holder = thread::Builder::new()
        .name("task-holder".into())
        .spawn(move || {
            block_on(async {
                let mut g = m1.lock().await;
                held_tx.send(()).unwrap();
                release_rx.recv().unwrap(); // "awaits" something while holding the lock
                *g += 1;
            })
        })
        .unwrap();
    held_rx.recv().unwrap();
    let m2 = m.clone();
    let wait_line = line!() + 3;
    let waiter = thread::Builder::new()
        .name("task-waiter".into())
        .spawn(move || block_on(async { *m2.lock().await += 10 }))
        .unwrap();
    let w = c.wait_for("async wait", |j| j.ty() == "wait" && lock_name(j.get("lock")) == Some("tokio.m"));
    assert_eq!(w.at("lock.class.kind").str(), Some("tokio.mutex"));
    assert_eq!(w.at("thread.name").str(), Some("task-waiter"));
    assert_eq!(w.at("site.line").num(), Some(wait_line as u64));
    assert_eq!(w.at("holders.0.thread.name").str(), Some("task-holder"));
    assert_eq!(w.at("holders.0.site.line").num(), Some(hold_line as u64));
    let s = c.wait_for("async stall", |j| j.ty() == "stall" && lock_name(j.get("lock")) == Some("tokio.m"));
    assert!(s.get("waited_ms").num().unwrap() >= 250);
    assert_eq!(s.at("last.thread.name").str(), Some("task-holder"));
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    waiter.join().unwrap();
    assert_eq!(*block_on(m.lock()), 11);
    let snap = c.wait_for("contended count", |j| {
        j.ty() == "snapshot"
            && j.get("entries").arr().iter().any(|e| {
                e.at("class.name").str() == Some("tokio.m") && e.get("contended").num() == Some(1)
            })
    });
    assert!(snap.get("entries").arr().iter().any(|e| e.at("site.line").num() == Some(wait_line as u64)));
}

#[test]
fn cancelled_wait_is_forgotten() {
    let c = hook();
    let m = Mutex::named("tokio.cancel", ());
    let g = m.try_lock().unwrap();
    {
        // poll the lock future once (it registers as waiting), then drop it
        let waker = Waker::from(Arc::new(Unpark(thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut f = pin!(m.lock());
        assert!(f.as_mut().poll(&mut cx).is_pending());
    }
    assert!(m.try_lock().is_err());
    drop(g);
    c.wait_for("wait event of the cancelled future", |j| j.ty() == "wait" && lock_name(j.get("lock")) == Some("tokio.cancel"));
    // let more than the stall threshold pass in snapshots: no stall for it
    let n = c.all().iter().filter(|j| j.ty() == "snapshot").count();
    c.wait_for_n("snapshots past the stall threshold", n + 4, |j| j.ty() == "snapshot");
    assert!(!c.all().iter().any(|j| j.ty() == "stall" && lock_name(j.get("lock")) == Some("tokio.cancel")));
}

#[test]
fn async_rwlock_api() {
    hook();
    let l = RwLock::named("tokio.rw", 1);
    block_on(async {
        {
            let a = l.read().await;
            let b = l.try_read().unwrap();
            assert_eq!(*a + *b, 2);
            assert!(l.try_write().is_err());
        }
        *l.write().await += 1;
        assert_eq!(*l.read().await, 2);
    });
    let mut l = l;
    *l.get_mut() += 1;
    assert_eq!(l.into_inner(), 3);
}

#[test]
fn blocking_variants_from_sync_code() {
    let c = hook();
    let m = Arc::new(Mutex::named("tokio.blocking", 0));
    let g = m.blocking_lock();
    let m2 = m.clone();
    let t = thread::Builder::new().name("sync-caller".into()).spawn(move || *m2.blocking_lock() += 1).unwrap();
    let w = c.wait_for("blocking wait", |j| j.ty() == "wait" && lock_name(j.get("lock")) == Some("tokio.blocking"));
    assert_eq!(w.at("thread.name").str(), Some("sync-caller"));
    drop(g);
    t.join().unwrap();
    assert_eq!(*m.blocking_lock(), 1);
    let l = RwLock::named("tokio.blocking.rw", 1);
    assert_eq!(*l.blocking_read() + 1, 2);
    *l.blocking_write() += 1;
    assert_eq!(*l.blocking_read(), 2);
}

#[test]
fn owned_guards_move_between_threads() {
    let c = hook();
    let m = Arc::new(Mutex::named("tokio.owned", 0u32));
    let g = block_on(m.clone().lock_owned());
    assert!(m.clone().try_lock_owned().is_err());
    // the guard (and the Arc it owns) moves to another thread, which releases it
    let mover = thread::spawn(move || {
        let mut g = g;
        *g += 1;
        assert_eq!(Arc::strong_count(locklens::tokio::OwnedMutexGuard::mutex(&g)), 2);
    });
    mover.join().unwrap();
    let mut g = m.clone().try_lock_owned().unwrap();
    *g += 1;
    drop(g);
    assert_eq!(Arc::strong_count(&m), 1);
    assert_eq!(*block_on(m.lock()), 2);
    let s = c.wait_for("owned acquisitions", |j| {
        j.ty() == "snapshot"
            && j.get("entries").arr().iter().any(|e| e.at("class.name").str() == Some("tokio.owned") && e.get("try_failed").num() == Some(1))
    });
    let acq: u64 = s
        .get("entries")
        .arr()
        .iter()
        .filter(|e| e.at("class.name").str() == Some("tokio.owned"))
        .map(|e| e.get("acquisitions").num().unwrap())
        .sum();
    assert!(acq >= 2, "{s:?}");
}
