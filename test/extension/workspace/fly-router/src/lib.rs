//! Fly.io's anycast proxy deadlock, reduced: in edition 2021 the read guard created in an
//! `if let` scrutinee lives until the end of the whole `if let ... else`, so the `else` arm
//! asks for the write lock of the same RwLock while this thread still holds the read lock.
use std::collections::HashMap;
use std::sync::RwLock;

pub enum Load {
    Local(u64),
    Remote(String),
}

pub struct Router {
    load: RwLock<HashMap<String, Load>>,
}

impl Router {
    pub fn new() -> Self {
        Router { load: RwLock::new(HashMap::new()) }
    }

    pub fn route(&self, app: &str) -> u64 {
        if let Some(Load::Local(load)) = self.load.read().unwrap().get(app) {
            *load
        } else {
            self.load.write().unwrap().insert(app.to_string(), Load::Local(1));
            1
        }
    }

    pub fn forget(&self, app: &str) {
        self.load.write().unwrap().remove(app);
    }
}
