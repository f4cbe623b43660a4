//! Test helpers: a loopback listener that collects the hook's lines, and a
//! small JSON parser to check them structurally.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

pub const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(BTreeMap<String, Json>),
}

impl Json {
    pub fn parse(s: &str) -> Result<Json, String> {
        let b = s.as_bytes();
        let mut i = 0;
        let v = value(b, &mut i)?;
        ws(b, &mut i);
        if i != b.len() {
            return Err(format!("trailing data at {i} in {s}"));
        }
        Ok(v)
    }
    pub fn get(&self, k: &str) -> &Json {
        static NULL: Json = Json::Null;
        match self {
            Json::Obj(m) => m.get(k).unwrap_or(&NULL),
            _ => &NULL,
        }
    }
    /// Path like "lock.class.name".
    pub fn at(&self, path: &str) -> &Json {
        path.split('.').fold(self, |j, k| match k.parse::<usize>() {
            Ok(n) => j.idx(n),
            Err(_) => j.get(k),
        })
    }
    pub fn idx(&self, n: usize) -> &Json {
        static NULL: Json = Json::Null;
        match self {
            Json::Arr(a) => a.get(n).unwrap_or(&NULL),
            _ => &NULL,
        }
    }
    pub fn str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn num(&self) -> Option<u64> {
        match self {
            Json::Num(n) => Some(*n as u64),
            _ => None,
        }
    }
    pub fn arr(&self) -> &[Json] {
        match self {
            Json::Arr(a) => a,
            _ => &[],
        }
    }
    pub fn ty(&self) -> &str {
        self.get("type").str().unwrap_or("")
    }
}

fn ws(b: &[u8], i: &mut usize) {
    while *i < b.len() && (b[*i] as char).is_ascii_whitespace() {
        *i += 1;
    }
}

fn value(b: &[u8], i: &mut usize) -> Result<Json, String> {
    ws(b, i);
    match b.get(*i) {
        None => Err("eof".into()),
        Some(b'{') => {
            *i += 1;
            let mut m = BTreeMap::new();
            ws(b, i);
            if b.get(*i) == Some(&b'}') {
                *i += 1;
                return Ok(Json::Obj(m));
            }
            loop {
                ws(b, i);
                let Json::Str(k) = value(b, i)? else { return Err("key".into()) };
                ws(b, i);
                if b.get(*i) != Some(&b':') {
                    return Err(format!("expected : at {i}"));
                }
                *i += 1;
                let v = value(b, i)?;
                m.insert(k, v);
                ws(b, i);
                match b.get(*i) {
                    Some(b',') => *i += 1,
                    Some(b'}') => {
                        *i += 1;
                        return Ok(Json::Obj(m));
                    }
                    _ => return Err(format!("expected , or }} at {i}")),
                }
            }
        }
        Some(b'[') => {
            *i += 1;
            let mut a = Vec::new();
            ws(b, i);
            if b.get(*i) == Some(&b']') {
                *i += 1;
                return Ok(Json::Arr(a));
            }
            loop {
                a.push(value(b, i)?);
                ws(b, i);
                match b.get(*i) {
                    Some(b',') => *i += 1,
                    Some(b']') => {
                        *i += 1;
                        return Ok(Json::Arr(a));
                    }
                    _ => return Err(format!("expected , or ] at {i}")),
                }
            }
        }
        Some(b'"') => {
            *i += 1;
            let mut s = String::new();
            loop {
                let c = *b.get(*i).ok_or("eof in string")?;
                *i += 1;
                match c {
                    b'"' => return Ok(Json::Str(s)),
                    b'\\' => {
                        let e = *b.get(*i).ok_or("eof in escape")?;
                        *i += 1;
                        match e {
                            b'n' => s.push('\n'),
                            b't' => s.push('\t'),
                            b'r' => s.push('\r'),
                            b'b' => s.push('\u{8}'),
                            b'f' => s.push('\u{c}'),
                            b'u' => {
                                let h = std::str::from_utf8(&b[*i..*i + 4]).map_err(|e| e.to_string())?;
                                let n = u32::from_str_radix(h, 16).map_err(|e| e.to_string())?;
                                s.push(char::from_u32(n).ok_or("bad \\u")?);
                                *i += 4;
                            }
                            other => s.push(other as char),
                        }
                    }
                    c if c < 0x80 => s.push(c as char),
                    _ => {
                        // copy the whole UTF-8 sequence
                        let start = *i - 1;
                        let mut end = *i;
                        while end < b.len() && (b[end] & 0xC0) == 0x80 {
                            end += 1;
                        }
                        s.push_str(std::str::from_utf8(&b[start..end]).map_err(|e| e.to_string())?);
                        *i = end;
                    }
                }
            }
        }
        Some(b't') if b[*i..].starts_with(b"true") => {
            *i += 4;
            Ok(Json::Bool(true))
        }
        Some(b'f') if b[*i..].starts_with(b"false") => {
            *i += 5;
            Ok(Json::Bool(false))
        }
        Some(b'n') if b[*i..].starts_with(b"null") => {
            *i += 4;
            Ok(Json::Null)
        }
        Some(_) => {
            let start = *i;
            while *i < b.len() && matches!(b[*i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') {
                *i += 1;
            }
            std::str::from_utf8(&b[start..*i])
                .ok()
                .and_then(|t| t.parse::<f64>().ok())
                .map(Json::Num)
                .ok_or_else(|| format!("bad value at {start}"))
        }
    }
}

/// One connection's worth of lines, plus a flag when it closed.
#[derive(Default)]
pub struct Received {
    pub lines: Vec<(usize, String)>,
    pub connections: usize,
    pub closed: usize,
}

/// Accepts connections on 127.0.0.1:0 and records every line.
pub struct Collector {
    pub port: u16,
    state: Arc<(Mutex<Received>, Condvar)>,
}

impl Collector {
    pub fn start() -> Collector {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        Collector::start_on(l)
    }

    pub fn start_on(l: TcpListener) -> Collector {
        let port = l.local_addr().unwrap().port();
        let state: Arc<(Mutex<Received>, Condvar)> = Arc::default();
        let st = state.clone();
        std::thread::spawn(move || {
            for conn in l.incoming() {
                let Ok(conn) = conn else { break };
                let st = st.clone();
                std::thread::spawn(move || read_conn(conn, st));
            }
        });
        Collector { port, state }
    }

    pub fn endpoint(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }

    /// Waits until a parsed line satisfies `pred`; panics after TIMEOUT.
    pub fn wait_for(&self, what: &str, pred: impl Fn(&Json) -> bool) -> Json {
        self.wait_for_n(what, 1, pred).pop().unwrap()
    }

    /// Waits until `n` lines satisfy `pred`.
    pub fn wait_for_n(&self, what: &str, n: usize, pred: impl Fn(&Json) -> bool) -> Vec<Json> {
        let deadline = Instant::now() + TIMEOUT;
        let (m, cv) = &*self.state;
        let mut g = m.lock().unwrap();
        loop {
            let found: Vec<Json> =
                g.lines.iter().map(|(_, l)| Json::parse(l).unwrap()).filter(|j| pred(j)).collect();
            if found.len() >= n {
                return found;
            }
            let now = Instant::now();
            if now >= deadline {
                let dump: Vec<&String> = g.lines.iter().map(|(_, l)| l).collect();
                panic!("timed out waiting for {what}; received {} lines: {dump:#?}", dump.len());
            }
            g = cv.wait_timeout(g, deadline - now).unwrap().0;
        }
    }

    /// All lines received so far (parsed).
    pub fn all(&self) -> Vec<Json> {
        self.state.0.lock().unwrap().lines.iter().map(|(_, l)| Json::parse(l).unwrap()).collect()
    }

    /// Waits until the collector saw `n` connections closed.
    pub fn wait_closed(&self, n: usize) {
        let deadline = Instant::now() + TIMEOUT;
        let (m, cv) = &*self.state;
        let mut g = m.lock().unwrap();
        while g.closed < n {
            let now = Instant::now();
            assert!(now < deadline, "connection not closed in time");
            g = cv.wait_timeout(g, deadline - now).unwrap().0;
        }
    }
}

fn read_conn(conn: TcpStream, st: Arc<(Mutex<Received>, Condvar)>) {
    let idx = {
        let mut g = st.0.lock().unwrap();
        g.connections += 1;
        g.connections
    };
    st.1.notify_all();
    for line in BufReader::new(conn).lines() {
        let Ok(line) = line else { break };
        st.0.lock().unwrap().lines.push((idx, line));
        st.1.notify_all();
    }
    st.0.lock().unwrap().closed += 1;
    st.1.notify_all();
}

/// `class.name` of a lock object in a message.
pub fn lock_name(lock: &Json) -> Option<&str> {
    lock.at("class.name").str()
}
