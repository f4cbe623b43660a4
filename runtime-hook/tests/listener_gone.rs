//! The listener goes away: the program keeps running without blocking, the
//! hook retries a few times, then gives up quietly and switches itself off.

use locklens::sync::{Arc, Mutex};
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::thread;
use std::time::Duration;

#[test]
fn hook_gives_up_quietly_when_listener_disappears() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut cfg = locklens::Config::new(&format!("tcp://127.0.0.1:{port}"), "tok-gone").unwrap();
    cfg.connect_attempts = 3;
    locklens::start(cfg).unwrap();

    let m = Arc::new(Mutex::named("gone.m", 0u64));
    drop(m.lock().unwrap());
    let (conn, _) = listener.accept().unwrap();
    let mut hello = String::new();
    BufReader::new(&conn).read_line(&mut hello).unwrap();
    assert!(hello.contains("\"type\":\"hello\"") && hello.contains("tok-gone"));
    // the listener process "dies"
    drop(conn);
    drop(listener);

    // keep the program busy meanwhile, from several threads
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let m = m.clone();
            thread::spawn(move || {
                for _ in 0..20_000 {
                    *m.lock().unwrap() += 1;
                }
            })
        })
        .collect();
    let (st, ok) = locklens::wait_status(Duration::from_secs(20), |s| s.gave_up);
    assert!(ok, "hook did not give up: {st:?}");
    assert!(!st.connected && !st.enabled);
    assert!(!locklens::enabled());
    for w in workers {
        w.join().unwrap();
    }
    assert_eq!(*m.lock().unwrap(), 80_000);
    // still fully functional afterwards, untracked
    let n = Mutex::named("gone.after", 1);
    assert_eq!(*n.lock().unwrap(), 1);
}
