// A lock held long after its last use, and one re-locked while held.
use std::sync::Mutex;
use std::time::Instant;

pub struct Monitor {
    last_heartbeat: Mutex<Vec<(u32, Instant)>>,
}

impl Monitor {
    pub fn expire(&self, timeout_ms: u128) -> usize {
        let beats = self.last_heartbeat.lock().unwrap();
        let expired = beats.iter().filter(|(_, t)| t.elapsed().as_millis() > timeout_ms).count();
        let mut report = String::new();
        for i in 0..expired {
            report.push_str(&format!("peer {} expired\n", i));
        }
        report.push_str("done\n");
        println!("{}", report);
        expired
    }

    pub fn record(&self, peer: u32) {
        let mut beats = self.last_heartbeat.lock().unwrap();
        beats.push((peer, Instant::now()));
        if beats.len() > 10 {
            self.last_heartbeat.lock().unwrap().clear();
        }
    }
}
