// Fly.io's anycast router: the `if let` read guard lives into the `else` arm,
// which takes the write lock of the same RwLock (edition 2021).
use std::collections::HashMap;
use std::sync::RwLock;

pub enum Load {
    Local(u64),
    Remote,
}

pub struct Catalog {
    load: RwLock<HashMap<String, Load>>,
}

impl Catalog {
    pub fn new() -> Self {
        Catalog { load: RwLock::new(HashMap::new()) }
    }

    pub fn route(&self, app: &str) -> u64 {
        if let Some(Load::Local(load)) = self.load.read().unwrap().get(app) {
            *load
        } else {
            self.init_for(app)
        }
    }

    fn init_for(&self, app: &str) -> u64 {
        let mut load = self.load.write().unwrap();
        load.insert(app.to_string(), Load::Local(1));
        1
    }
}
