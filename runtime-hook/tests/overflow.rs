//! Bounded queue: while the listener is unreachable nothing is drained, so
//! exactly `capacity` events stay queued and the rest are counted as
//! dropped; when the listener appears the queued events and the drop count
//! are delivered. (Own test binary: the hook is global per process.)

mod common;

use common::{lock_name, Collector};
use locklens::sync::Mutex;
use std::net::TcpListener;
use std::time::Duration;

const CAPACITY: usize = 8;
const EDGES: usize = 100;

#[test]
fn queue_overflow_is_counted_and_reported() {
    // a port with nobody listening (yet)
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut cfg = locklens::Config::new(&format!("tcp://127.0.0.1:{port}"), "tok-overflow").unwrap();
    cfg.queue_capacity = CAPACITY;
    cfg.connect_attempts = 1000;
    locklens::start(cfg).unwrap();

    // EDGES distinct lock-order edges, each one a new event
    let outer = Mutex::named("overflow.outer", ());
    let inner: Vec<Mutex<()>> =
        (0..EDGES).map(|i| Mutex::named(Box::leak(format!("overflow.inner.{i}").into_boxed_str()), ())).collect();
    for m in &inner {
        let _o = outer.lock().unwrap();
        let _i = m.lock().unwrap();
    }
    let st = locklens::status();
    assert!(!st.connected);
    assert_eq!(st.dropped as usize, EDGES - CAPACITY, "{st:?}");
    assert!(locklens::enabled(), "still trying to connect, so still on");

    // Now the listener appears on that port: the hook reconnects within its
    // back-off, sends the queued events and reports the drops.
    let c = Collector::start_on(TcpListener::bind(("127.0.0.1", port)).expect("port still free"));
    let snap = c.wait_for("snapshot reporting drops", |j| j.ty() == "snapshot");
    assert_eq!(snap.get("dropped").num(), Some((EDGES - CAPACITY) as u64));
    let edges: Vec<_> =
        c.all().into_iter().filter(|j| j.ty() == "edge" && lock_name(j.at("from.lock")) == Some("overflow.outer")).collect();
    assert_eq!(edges.len(), CAPACITY);
    // the oldest events were kept, in order
    for (i, e) in edges.iter().enumerate() {
        assert_eq!(lock_name(e.at("to.lock")), Some(format!("overflow.inner.{i}").as_str()));
    }
    let (st, ok) = locklens::wait_status(Duration::from_secs(5), |s| s.connected);
    assert!(ok && st.connects == 1, "{st:?}");
}
