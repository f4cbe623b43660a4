//! The fly-proxy Catalog bug (Fly.io, "if let" + RwLock): the read guard
//! taken in the `if let` scrutinee lives until the end of the whole
//! `if let ... else`, so the `else` arm's write lock waits for the thread's
//! own read lock, forever.
//!
//! Run plain (hangs until the watchdog ends it):
//!     cargo run --example flyio_catalog
//! Under LockLens (the hook reports the self-deadlock and aborts):
//!     LOCKLENS_ENDPOINT=tcp://127.0.0.1:PORT LOCKLENS_TOKEN=... \
//!     LOCKLENS_ON_DEADLOCK=abort cargo run --example flyio_catalog
//!
//! `LOCKLENS_EXAMPLE_TIMEOUT_MS` (default 5000) bounds the run so that a
//! plain run does not hang a test suite.

use locklens::sync::RwLock;
use std::collections::HashMap;
use std::time::Duration;

#[derive(Clone, Debug)]
enum Load {
    Local(u32),
    #[allow(dead_code)]
    Remote(String),
}

struct Catalog {
    load: RwLock<HashMap<&'static str, Load>>,
}

impl Catalog {
    fn new() -> Catalog {
        Catalog { load: RwLock::named("catalog.load", HashMap::new()) }
    }

    /// Looks the app up, lazily loading it on a miss.
    fn route(&self, app: &'static str) -> u32 {
        // BUG: the temporary read guard lives through the else arm.
        if let Some(Load::Local(load)) = self.load.read().unwrap().get(app) {
            *load
        } else {
            self.init_for(app)
        }
    }

    fn init_for(&self, app: &'static str) -> u32 {
        let mut w = self.load.write().unwrap(); // waits for our own read guard
        w.insert(app, Load::Local(1));
        1
    }
}

fn main() {
    watchdog();
    let catalog = Catalog::new();
    catalog.load.write().unwrap().insert("warm-app", Load::Local(7));
    println!("warm-app -> {}", catalog.route("warm-app"));
    println!("lazy-loading cold-app ...");
    let n = catalog.route("cold-app"); // self-deadlock
    println!("cold-app -> {n} (unreachable: the lock is held by this very thread)");
}

fn watchdog() {
    let ms = std::env::var("LOCKLENS_EXAMPLE_TIMEOUT_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(5000);
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(ms));
        eprintln!("flyio_catalog: still deadlocked after {ms} ms, exiting (watchdog)");
        std::process::exit(3);
    });
}
