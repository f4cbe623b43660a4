//! Four threads contending on a shared map and a counter; finishes normally.
//! Under LockLens it produces contended-wait events, lock-order edges
//! (stats -> counter) and per-site counters.
//!
//!     cargo run --release --example contention

use locklens::sync::{Arc, Mutex, RwLock};
use std::collections::HashMap;
use std::thread;

fn main() {
    let sessions = Arc::new(RwLock::named("sessions", HashMap::<u64, u64>::new()));
    let stats = Arc::new(Mutex::named("stats", (0u64, 0u64)));
    let counter = Arc::new(Mutex::named("counter", 0u64));
    let workers: Vec<_> = (0..4u64)
        .map(|w| {
            let (sessions, stats, counter) = (sessions.clone(), stats.clone(), counter.clone());
            thread::Builder::new()
                .name(format!("worker-{w}"))
                .spawn(move || {
                    for i in 0..20_000u64 {
                        let key = (w * 7919 + i) % 512;
                        if i % 16 == 0 {
                            *sessions.write().unwrap().entry(key).or_default() += 1;
                        } else {
                            let hit = sessions.read().unwrap().get(&key).copied();
                            let mut s = stats.lock().unwrap();
                            if hit.is_some() {
                                s.0 += 1;
                            } else {
                                s.1 += 1;
                            }
                            // always stats -> counter: a consistent order
                            *counter.lock().unwrap() += 1;
                        }
                    }
                })
                .unwrap()
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let (hits, misses) = *stats.lock().unwrap();
    // (one statement with both guards as temporaries would hold `counter`
    // while taking `sessions`: LockLens reports that as an order edge)
    let total = *counter.lock().unwrap();
    let keys = sessions.read().unwrap().len();
    println!("hits={hits} misses={misses} counter={total} sessions={keys}");
    if locklens::enabled() {
        // deliver the final counters before the process exits
        let complete = locklens::flush(std::time::Duration::from_secs(2));
        let st = locklens::status();
        println!("locklens: flushed={complete} sent={} dropped={}", st.sent, st.dropped);
    }
}
