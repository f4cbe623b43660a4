//! MIDAS (the PSI/TRIUMF data acquisition system) deadlocked when `db_set_value` held the
//! ODB lock and logged through `cm_msg`, which takes the SYSMSG lock and reads the ODB:
//! ODB -> SYSMSG on one thread, SYSMSG -> ODB on another. Reduced to its lock skeleton.
use std::sync::Mutex;

pub mod counters;

pub struct Odb {
    odb: Mutex<Vec<(String, i64)>>,
    sysmsg: Mutex<Vec<String>>,
}

impl Odb {
    pub fn new() -> Self {
        Odb { odb: Mutex::new(Vec::new()), sysmsg: Mutex::new(Vec::new()) }
    }

    /// Takes ODB, then SYSMSG through `cm_msg`.
    pub fn db_set_value(&self, key: &str, value: i64) {
        let mut odb = self.odb.lock().unwrap();
        if odb.len() >= 1000 {
            self.cm_msg("odb is full");
        }
        odb.push((key.to_string(), value));
    }

    /// Takes SYSMSG, then ODB through `db_get_value`.
    pub fn cm_msg(&self, text: &str) {
        let mut sysmsg = self.sysmsg.lock().unwrap();
        let level = self.db_get_value("/Logger/Level").unwrap_or(0);
        sysmsg.push(format!("[{}] {}", level, text));
    }

    pub fn db_get_value(&self, key: &str) -> Option<i64> {
        let odb = self.odb.lock().unwrap();
        odb.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }
}
