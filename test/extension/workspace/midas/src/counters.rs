//! One lock, one `.lock().unwrap()`: the quick-fix test rewrites this file's poison unwrap.
use std::sync::Mutex;

pub struct Counters {
    events: Mutex<u64>,
}

impl Counters {
    pub fn new() -> Self {
        Counters { events: Mutex::new(0) }
    }

    pub fn bump(&self) -> u64 {
        let mut events = self.events.lock().unwrap();
        *events += 1;
        *events
    }
}
