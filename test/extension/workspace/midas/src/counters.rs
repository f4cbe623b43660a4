//! The quick-fix tests edit this file: `bump` gets the poison-unwrap fix, `reset` the
//! allow comment.
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

    pub fn reset(&self) {
        *self.events.lock().unwrap() = 0;
    }
}
