// MIDAS: db_set_value holds the ODB lock and calls cm_msg, which takes SYSMSG and
// calls back into an ODB function: an ABBA deadlock through a call chain.
use std::sync::Mutex;

pub struct Midas {
    odb: Mutex<Vec<(String, i64)>>,
    sysmsg: Mutex<Vec<String>>,
}

impl Midas {
    pub fn db_set_value(&self, key: &str, value: i64) {
        let mut odb = self.odb.lock().unwrap();
        if odb.len() > 1000 {
            self.cm_msg("odb is full");
        }
        odb.push((key.to_string(), value));
    }

    pub fn db_get_value(&self, key: &str) -> Option<i64> {
        let odb = self.odb.lock().unwrap();
        odb.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    pub fn cm_msg(&self, text: &str) {
        let mut sysmsg = self.sysmsg.lock().unwrap();
        let level = self.db_get_value("/Logger/Level").unwrap_or(0);
        sysmsg.push(format!("[{}] {}", level, text));
    }
}
