//! The background thread: owns the socket, drains the queues, runs the
//! periodic scan and writes snapshots. Lock operations never wait for it.

use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::net::TcpStream;
use std::sync::atomic::Ordering::*;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::rt::{self, Item, Runtime, StatKey};
use crate::wire::{Hello, Message, SiteCounters, Snapshot};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
const WRITE_TIMEOUT: Duration = Duration::from_secs(1);
const BATCH: usize = 512;

struct Conn {
    w: BufWriter<TcpStream>,
}

struct Snapshots {
    seq: u64,
    /// Counters of exited threads.
    retired: HashMap<StatKey, SiteCounters>,
    /// What the listener has already been sent.
    sent: HashMap<StatKey, SiteCounters>,
}

pub(crate) fn run(rt: &'static Runtime, rx: Receiver<Item>) {
    rt::IS_IO_THREAD.with(|c| c.set(true));
    let mut conn: Option<Conn> = None;
    let mut failures = 0u32;
    let mut backoff = Duration::from_millis(50);
    let mut snaps = Snapshots { seq: 0, retired: HashMap::new(), sent: HashMap::new() };
    let interval = rt.cfg.snapshot_interval;
    let mut next_tick = Instant::now() + interval;
    loop {
        if conn.is_none() {
            match connect(rt) {
                Ok(c) => {
                    conn = Some(c);
                    failures = 0;
                    backoff = Duration::from_millis(50);
                    snaps.sent.clear();
                    rt.update_status(|s| {
                        s.connected = true;
                        s.connects += 1;
                        s.sent += 1;
                    });
                }
                Err(_) => {
                    failures += 1;
                    if failures >= rt.cfg.connect_attempts {
                        give_up(rt, rx);
                        return;
                    }
                    // Events stay queued while we are not connected; the
                    // producers count what no longer fits.
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    continue;
                }
            }
        }
        let mut batch: Vec<Message> = Vec::new();
        let wait = next_tick.saturating_duration_since(Instant::now());
        match rx.recv_timeout(wait) {
            Ok(item) => {
                push(rt, &mut batch, item);
                while batch.len() < BATCH {
                    match rx.try_recv() {
                        Ok(item) => push(rt, &mut batch, item),
                        Err(_) => break,
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        let urgent: Vec<Message> = rt.urgent.lock().unwrap_or_else(|e| e.into_inner()).drain(..).collect();
        let n_urgent = urgent.len() as u64;
        // urgent first: a deadlock report must not wait behind a flood of events
        let ok = write_all(rt, conn.as_mut().unwrap(), urgent.iter().chain(batch.iter()));
        if ok {
            rt.urgent_written.fetch_add(n_urgent, SeqCst);
            rt.status_cv.notify_all();
        }
        let mut ok = ok;
        let flush_to = rt.flush_requested.load(SeqCst);
        let flushing = flush_to > rt.flush_done.load(SeqCst);
        if ok && (flushing || Instant::now() >= next_tick) {
            next_tick = Instant::now() + interval;
            rt.tick_clock();
            rt::scan(rt);
            let urgent: Vec<Message> = rt.urgent.lock().unwrap_or_else(|e| e.into_inner()).drain(..).collect();
            let n_urgent = urgent.len() as u64;
            let snap = snapshot(rt, &mut snaps);
            ok = write_all(rt, conn.as_mut().unwrap(), urgent.iter().chain(std::iter::once(&snap)));
            if rt.abort_after_write.load(SeqCst) {
                rt::abort_now();
            }
            if ok {
                rt.urgent_written.fetch_add(n_urgent, SeqCst);
                if flushing {
                    rt.flush_done.fetch_max(flush_to, SeqCst);
                }
                rt.status_cv.notify_all();
            }
        }
        if !ok {
            conn = None;
            rt.update_status(|s| s.connected = false);
        }
    }
}

fn push(rt: &Runtime, batch: &mut Vec<Message>, item: Item) {
    rt.queued.fetch_sub(1, Relaxed);
    if let Item::Msg(m) = item {
        batch.push(*m);
    }
}

fn connect(rt: &Runtime) -> std::io::Result<Conn> {
    let s = TcpStream::connect_timeout(&rt.cfg.endpoint, CONNECT_TIMEOUT)?;
    s.set_nodelay(true)?;
    s.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let mut w = BufWriter::with_capacity(64 * 1024, s);
    let hello = Message::Hello(Hello {
        token: rt.cfg.token.clone(),
        pid: std::process::id() as u64,
        program: std::env::args().next().unwrap_or_default(),
        start_unix_ms: rt.start_unix_ms,
        stall_ms: rt.cfg.stall.as_millis() as u64,
        snapshot_ms: rt.cfg.snapshot_interval.as_millis() as u64,
        sample_every: rt.cfg.sample_every as u64,
        on_deadlock: rt.cfg.on_deadlock.as_str(),
        queue_capacity: rt.cfg.queue_capacity as u64,
    });
    w.write_all(hello.to_json().as_bytes())?;
    w.write_all(b"\n")?;
    w.flush()?;
    Ok(Conn { w })
}

/// Writes and flushes; on failure every unwritten message counts as dropped.
fn write_all<'a>(rt: &Runtime, c: &mut Conn, msgs: impl Iterator<Item = &'a Message>) -> bool {
    let msgs: Vec<&Message> = msgs.collect();
    if msgs.is_empty() {
        return true;
    }
    let mut written = 0u64;
    let mut ok = true;
    for m in &msgs {
        let mut line = m.to_json();
        line.push('\n');
        if c.w.write_all(line.as_bytes()).is_err() {
            ok = false;
            break;
        }
        written += 1;
    }
    if ok && c.w.flush().is_err() {
        ok = false;
    }
    if ok {
        rt.update_status(|s| s.sent += written);
    } else {
        // Whatever was still buffered is lost with the connection.
        rt.dropped.fetch_add(msgs.len() as u64, Relaxed);
        rt.update_status(|_| {});
    }
    ok
}

fn snapshot(rt: &Runtime, st: &mut Snapshots) -> Message {
    rt.retire_dead(|t| t.for_each_counters(|k, c| rt::merge_counters(st.retired.entry(k).or_default(), c)));
    let threads = rt.thread_list();
    let mut total: HashMap<StatKey, SiteCounters> = st.retired.clone();
    for t in &threads {
        t.for_each_counters(|k, c| rt::merge_counters(total.entry(k).or_default(), c));
    }
    let mut changed: Vec<(StatKey, SiteCounters)> =
        total.into_iter().filter(|(k, c)| st.sent.get(k) != Some(c)).collect();
    changed.sort_by_key(|(k, _)| *k);
    let entries = changed.iter().map(|(k, c)| rt::entry_of(rt, k, c)).collect();
    for (k, c) in changed {
        st.sent.insert(k, c);
    }
    st.seq += 1;
    Message::Snapshot(Snapshot {
        t_ms: rt.now_ms(),
        seq: st.seq,
        threads: threads.iter().filter(|t| t.alive.load(Relaxed)).count() as u64,
        dropped: rt.dropped.load(Relaxed),
        entries,
        holders: rt::current_holders(rt, crate::wire::MAX_SNAPSHOT_HOLDERS),
    })
}

fn give_up(rt: &Runtime, rx: Receiver<Item>) {
    rt::switch_off();
    let mut lost = 0u64;
    while let Ok(item) = rx.try_recv() {
        if let Item::Msg(_) = item {
            lost += 1;
        }
    }
    lost += rt.urgent.lock().unwrap_or_else(|e| e.into_inner()).drain(..).count() as u64;
    rt.dropped.fetch_add(lost, Relaxed);
    rt.update_status(|s| {
        s.gave_up = true;
        s.connected = false;
        s.enabled = false;
    });
    // Dropping `rx` makes every later emit fail fast (and count as dropped).
    drop(rx);
}
