// A streaming server's heartbeat monitor (seed 002): removing from a DashMap while iterating it
// deadlocks on the shard lock the iterator holds. The fixed version collects keys first.
use dashmap::DashMap;
use std::time::Instant;

pub struct WalReplication {
    last_heartbeat: DashMap<(String, i32), Instant>,
}

impl WalReplication {
    pub fn monitor_timeouts(&self, timeout_ms: u128) {
        for entry in self.last_heartbeat.iter() {
            if entry.value().elapsed().as_millis() > timeout_ms {
                self.last_heartbeat.remove(entry.key());
            }
        }
    }

    pub fn monitor_timeouts_fixed(&self, timeout_ms: u128) {
        let mut expired = Vec::new();
        for entry in self.last_heartbeat.iter() {
            if entry.value().elapsed().as_millis() > timeout_ms {
                expired.push(entry.key().clone());
            }
        }
        for key in expired {
            self.last_heartbeat.remove(&key);
        }
    }
}
