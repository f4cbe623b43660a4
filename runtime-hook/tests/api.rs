//! std semantics of `locklens::sync` with the hook off (no environment).
//! These mirror std's own behaviour: every assertion here also holds for
//! `std::sync` with the same code.

use locklens::sync::{Arc, Barrier, Condvar, Mutex, RwLock, TryLockError};
use std::thread;
use std::time::Duration;

static GLOBAL: Mutex<Vec<u32>> = Mutex::new(Vec::new());
static GLOBAL_RW: RwLock<u32> = RwLock::named("global.rw", 7);
static GLOBAL_CV: Condvar = Condvar::new();

fn hook_env_unset() -> bool {
    std::env::var_os("LOCKLENS_ENDPOINT").is_none() || std::env::var_os("LOCKLENS_TOKEN").is_none()
}

#[test]
fn hook_is_off_without_environment() {
    if !hook_env_unset() {
        eprintln!("LOCKLENS_* set in the environment; off-mode assertions do not apply");
        return;
    }
    drop(GLOBAL.lock().unwrap());
    assert!(!locklens::enabled());
    let st = locklens::status();
    assert_eq!(st, locklens::Status::default(), "no runtime must exist when off");
    // no background thread was started: start() is refused once initialised
    let cfg = locklens::Config::new("tcp://127.0.0.1:9", "t").unwrap();
    assert_eq!(locklens::start(cfg), Err(locklens::StartError::AlreadyInitialized));
    assert!(locklens::disable());
}

#[test]
fn static_const_locks_work() {
    GLOBAL.lock().unwrap().push(1);
    assert!(GLOBAL.lock().unwrap().contains(&1));
    assert_eq!(*GLOBAL_RW.read().unwrap(), 7);
    assert_eq!(GLOBAL_RW.name(), Some("global.rw"));
    let (g, t) = GLOBAL_CV.wait_timeout(GLOBAL.lock().unwrap(), Duration::from_millis(1)).unwrap();
    assert!(t.timed_out());
    drop(g);
}

#[test]
fn creation_site_is_the_class() {
    let line = line!() + 1;
    let m = Mutex::new(0);
    assert_eq!(m.created_at().line(), line);
    assert!(m.created_at().file().ends_with("api.rs"));
    assert_eq!(m.name(), None);
    let d: Mutex<u8> = Default::default();
    assert_eq!(d.created_at().line(), line!() - 1);
    let f = RwLock::from(3);
    assert_eq!(f.created_at().line(), line!() - 1);
}

#[test]
fn mutex_lock_try_lock_get_mut_into_inner() {
    let mut m = Mutex::new(String::from("a"));
    {
        let mut g = m.lock().unwrap();
        g.push('b');
        assert!(matches!(m.try_lock(), Err(TryLockError::WouldBlock)));
        assert_eq!(format!("{g}"), "ab");
        assert_eq!(format!("{g:?}"), "\"ab\"");
        assert!(format!("{m:?}").contains("<locked>"));
    }
    assert_eq!(m.try_lock().unwrap().as_str(), "ab");
    m.get_mut().unwrap().push('c');
    assert!(format!("{m:?}").contains("\"abc\""));
    assert_eq!(m.into_inner().unwrap(), "abc");
}

#[test]
fn mutex_poisoning_matches_std() {
    let m = Arc::new(Mutex::new(1));
    let m2 = m.clone();
    let r = thread::spawn(move || {
        let mut g = m2.lock().unwrap();
        *g = 2;
        panic!("poison it (expected)");
    })
    .join();
    assert!(r.is_err());
    assert!(m.is_poisoned());
    match m.try_lock() {
        Err(TryLockError::Poisoned(p)) => assert_eq!(**p.get_ref(), 2),
        other => panic!("expected poisoned try_lock, got {:?}", other.map(|g| *g)),
    }
    let mut g = m.lock().unwrap_err().into_inner();
    *g = 3;
    drop(g);
    assert!(m.is_poisoned());
    m.clear_poison();
    assert!(!m.is_poisoned());
    assert_eq!(*m.lock().unwrap(), 3);
    // into_inner of a poisoned mutex
    let p = Mutex::new(vec![1]);
    let _ = thread::scope(|s| {
        s.spawn(|| {
            let _g = p.lock().unwrap();
            panic!("poison (expected)");
        })
        .join()
    });
    assert_eq!(p.into_inner().unwrap_err().into_inner(), vec![1]);
}

#[test]
fn rwlock_readers_share_writers_exclude() {
    let l = RwLock::new(10);
    {
        let r1 = l.read().unwrap();
        let r2 = l.try_read().unwrap();
        assert_eq!(*r1 + *r2, 20);
        assert!(matches!(l.try_write(), Err(TryLockError::WouldBlock)));
    }
    {
        let mut w = l.write().unwrap();
        *w += 1;
        assert!(matches!(l.try_read(), Err(TryLockError::WouldBlock)));
        assert!(matches!(l.try_write(), Err(TryLockError::WouldBlock)));
    }
    assert_eq!(*l.try_write().unwrap(), 11);
    let mut l = l;
    *l.get_mut().unwrap() = 12;
    assert_eq!(l.into_inner().unwrap(), 12);
}

#[test]
fn rwlock_poisoning_matches_std() {
    let l = Arc::new(RwLock::new(0));
    let l2 = l.clone();
    // a panicking reader does not poison
    let _ = thread::spawn(move || {
        let _r = l2.read().unwrap();
        panic!("reader panic (expected)");
    })
    .join();
    assert!(!l.is_poisoned());
    let l3 = l.clone();
    let _ = thread::spawn(move || {
        let _w = l3.write().unwrap();
        panic!("writer panic (expected)");
    })
    .join();
    assert!(l.is_poisoned());
    assert!(l.read().is_err());
    assert!(matches!(l.try_write(), Err(TryLockError::Poisoned(_))));
    l.clear_poison();
    assert!(l.read().is_ok());
}

#[test]
fn condvar_wait_and_notify() {
    let pair = Arc::new((Mutex::new(0u32), Condvar::new()));
    let p = pair.clone();
    let t = thread::spawn(move || {
        for _ in 0..100 {
            let (m, cv) = &*p;
            *m.lock().unwrap() += 1;
            cv.notify_one();
        }
    });
    let (m, cv) = &*pair;
    let mut g = m.lock().unwrap();
    while *g < 100 {
        g = cv.wait(g).unwrap();
    }
    drop(g);
    t.join().unwrap();
    let g = cv.wait_while(m.lock().unwrap(), |n| *n < 100).unwrap();
    assert_eq!(*g, 100);
}

#[test]
fn condvar_timeouts() {
    let m = Mutex::new(false);
    let cv = Condvar::new();
    let (g, r) = cv.wait_timeout(m.lock().unwrap(), Duration::from_millis(5)).unwrap();
    assert!(r.timed_out());
    let (g, r) = cv.wait_timeout_while(g, Duration::from_millis(5), |ready| !*ready).unwrap();
    assert!(r.timed_out());
    assert!(!*g);
    drop(g);
    // condition already false: returns at once, not timed out
    *m.lock().unwrap() = true;
    let (g, r) = cv.wait_timeout_while(m.lock().unwrap(), Duration::from_secs(60), |ready| !*ready).unwrap();
    assert!(!r.timed_out() && *g);
}

#[test]
fn condvar_wait_while_with_many_threads() {
    let state = Arc::new((Mutex::named("queue", Vec::<u32>::new()), Condvar::new(), Barrier::new(4)));
    let consumers: Vec<_> = (0..3)
        .map(|_| {
            let s = state.clone();
            thread::spawn(move || {
                s.2.wait();
                let (m, cv, _) = &*s;
                let mut g = cv.wait_while(m.lock().unwrap(), |q| q.is_empty()).unwrap();
                g.pop().unwrap()
            })
        })
        .collect();
    state.2.wait();
    for i in 0..3 {
        state.0.lock().unwrap().push(i);
        state.1.notify_one();
    }
    state.1.notify_all();
    let mut got: Vec<u32> = consumers.into_iter().map(|c| c.join().unwrap()).collect();
    got.sort();
    assert_eq!(got, vec![0, 1, 2]);
}

#[test]
fn condvar_propagates_poison() {
    let pair = Arc::new((Mutex::new(()), Condvar::new()));
    let p = pair.clone();
    let (m, cv) = &*pair;
    let g = m.lock().unwrap();
    let t = thread::spawn(move || {
        let _g = p.0.lock().unwrap();
        p.1.notify_all();
        panic!("poison while the other thread waits (expected)");
    });
    // wait releases the mutex so the thread can take it, poison it, notify
    let r = cv.wait_while(g, |_| !m.is_poisoned());
    assert!(r.is_err());
    drop(r);
    assert!(t.join().is_err());
}

#[test]
fn debug_sync_is_locklens_in_debug_builds() {
    use std::any::TypeId;
    let expected = if cfg!(debug_assertions) {
        TypeId::of::<locklens::sync::Mutex<u8>>()
    } else {
        TypeId::of::<std::sync::Mutex<u8>>()
    };
    assert_eq!(TypeId::of::<locklens::debug_sync::Mutex<u8>>(), expected);
    let m = locklens::debug_sync::Mutex::new(1u8);
    assert_eq!(*m.lock().unwrap(), 1);
}

#[test]
fn guards_are_not_send_like_std() {
    // compile-time property checked through auto traits
    fn is_sync<T: Sync>() {}
    is_sync::<locklens::sync::MutexGuard<'static, u8>>();
    is_sync::<Mutex<u8>>();
    is_sync::<RwLock<u8>>();
    // (a `Send` check would not compile: std::sync::MutexGuard is !Send)
}
