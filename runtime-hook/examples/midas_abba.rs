//! The MIDAS ODB <-> SYSMSG deadlock: ODB functions lock ODB and then call
//! `cm_msg()`, which locks SYSMSG; `cm_msg()` locks SYSMSG and then reads
//! the ODB. A Barrier makes both threads hold their first lock before
//! asking for the second, so the deadlock happens on every run.
//!
//!     cargo run --example midas_abba      # hangs until the watchdog
//!     LOCKLENS_ENDPOINT=tcp://127.0.0.1:PORT LOCKLENS_TOKEN=... \
//!     LOCKLENS_ON_DEADLOCK=abort cargo run --example midas_abba
//!
//! `LOCKLENS_EXAMPLE_TIMEOUT_MS` (default 5000) bounds the run.

use locklens::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::Duration;

struct Midas {
    odb: Mutex<Vec<(String, i64)>>,
    sysmsg: Mutex<Vec<String>>,
    /// Only here to make the interleaving deterministic.
    both_hold_first_lock: Barrier,
}

impl Midas {
    /// db_set_value(): ODB lock, then reports through cm_msg().
    fn db_set_value(&self, key: &str, v: i64) {
        let mut odb = self.odb.lock().unwrap();
        odb.push((key.to_string(), v));
        self.both_hold_first_lock.wait();
        self.cm_msg(&format!("set {key}={v}"));
    }

    /// cm_msg(): SYSMSG lock, then looks up the client name in the ODB.
    fn cm_msg(&self, text: &str) {
        let mut log = self.sysmsg.lock().unwrap();
        log.push(text.to_string());
    }

    fn cm_msg_with_client_name(&self, text: &str) {
        let mut log = self.sysmsg.lock().unwrap();
        self.both_hold_first_lock.wait();
        let odb = self.odb.lock().unwrap();
        log.push(format!("[{} keys] {text}", odb.len()));
    }
}

fn main() {
    watchdog();
    let midas = Arc::new(Midas {
        odb: Mutex::named("ODB", Vec::new()),
        sysmsg: Mutex::named("SYSMSG", Vec::new()),
        both_hold_first_lock: Barrier::new(2),
    });
    let m = midas.clone();
    let a = thread::Builder::new().name("odbedit".into()).spawn(move || m.db_set_value("/Runinfo/State", 3)).unwrap();
    let m = midas.clone();
    let b = thread::Builder::new()
        .name("cm_watchdog".into())
        .spawn(move || m.cm_msg_with_client_name("client odbedit removed"))
        .unwrap();
    a.join().unwrap();
    b.join().unwrap();
    println!("unreachable: {} messages", midas.sysmsg.lock().unwrap().len());
}

fn watchdog() {
    let ms = std::env::var("LOCKLENS_EXAMPLE_TIMEOUT_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(5000);
    thread::spawn(move || {
        thread::sleep(Duration::from_millis(ms));
        eprintln!("midas_abba: still deadlocked after {ms} ms, exiting (watchdog)");
        std::process::exit(3);
    });
}
