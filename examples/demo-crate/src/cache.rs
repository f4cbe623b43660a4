// Poison panics, a lock dropped at once, a guard held across .await and blocking I/O under a lock.
use std::sync::{Arc, Mutex};

pub struct Cache {
    entries: Mutex<Vec<String>>,
    hits: Arc<Mutex<u64>>,
}

impl Cache {
    pub fn add(&self, entry: String) {
        let mut entries = self.entries.lock().unwrap();
        entries.push(entry);
    }

    // rustc denies this pattern for std locks by default; real code often silences the
    // lint, and LockLens also catches the forms rustc does not (parking_lot, spin, tokio).
    #[allow(let_underscore_lock)]
    pub fn touch(&self) {
        // Meant to serialise with writers, but the guard is dropped at once.
        let _ = self.hits.lock();
        *self.hits.lock().unwrap() += 1;
    }

    pub fn save(&self, path: &str) -> std::io::Result<()> {
        let entries = self.entries.lock().unwrap();
        std::fs::write(path, entries.join("\n"))?;
        Ok(())
    }

    pub async fn refresh(&self, source: impl std::future::Future<Output = String>) {
        let mut entries = self.entries.lock().unwrap();
        let fresh = source.await;
        entries.push(fresh);
    }

    pub fn try_add(&self, entry: String) -> bool {
        if let Ok(mut entries) = self.entries.try_lock() {
            entries.push(entry);
            true
        } else {
            false
        }
    }
}
