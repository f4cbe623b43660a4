//! Overhead of LockLens locks, std-only harness (no criterion offline).
//!
//!     cargo run --release --example bench                         # std locks
//!     cargo run --release --example bench --features parking_lot  # + parking_lot
//!
//! Each mode runs in its own child process, because the hook's on/off state
//! is per process. Modes: `std` (std::sync::Mutex), `off` (locklens::sync,
//! hook off), `on` (locklens::sync, hook on, connected to an in-process
//! sink that reads and discards), and with the feature `pl`
//! (parking_lot::Mutex), `pl-off`, `pl-on` (locklens::parking_lot).
//! `pl-dd` is parking_lot::Mutex with parking_lot's `deadlock_detection`
//! feature and its checker running every 100 ms (LockLens' snapshot
//! interval); the feature changes parking_lot for the whole build, so that
//! mode runs in a second binary built with the feature
//! `bench-pl-deadlock-detection`, named by `BENCH_PL_DD_BIN`.
//! Workloads: uncontended lock+increment+unlock on one thread; the same
//! with a second lock nested inside (order-edge check on every
//! acquisition); 4 threads hammering one mutex. Uncontended and nested:
//! the best run (the cost of the code path; slower runs measure the
//! machine's other load); contended: the median and quartiles of every run
//! of every round (the spread is the scheduler's, with 4 threads on the
//! cores, and is shown).

use std::hint::black_box;
use std::io::Read;
use std::net::TcpListener;
use std::process::Command;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

trait Bump: Send + Sync + 'static {
    fn make() -> Self;
    fn bump(&self);
}

impl Bump for std::sync::Mutex<u64> {
    fn make() -> Self {
        std::sync::Mutex::new(0)
    }
    #[inline]
    fn bump(&self) {
        *self.lock().unwrap() += 1;
    }
}

impl Bump for locklens::sync::Mutex<u64> {
    fn make() -> Self {
        locklens::sync::Mutex::new(0)
    }
    #[inline]
    fn bump(&self) {
        *self.lock().unwrap() += 1;
    }
}

#[cfg(feature = "parking_lot")]
impl Bump for parking_lot::Mutex<u64> {
    fn make() -> Self {
        parking_lot::Mutex::new(0)
    }
    #[inline]
    fn bump(&self) {
        *self.lock() += 1;
    }
}

#[cfg(feature = "parking_lot")]
impl Bump for locklens::parking_lot::Mutex<u64> {
    fn make() -> Self {
        locklens::parking_lot::Mutex::new(0)
    }
    #[inline]
    fn bump(&self) {
        *self.lock() += 1;
    }
}

const UNCONTENDED_OPS_DEFAULT: u64 = 2_000_000;

/// `BENCH_OPS` overrides the per-run operation count (used to count
/// instructions under valgrind, where machine load does not matter).
fn uncontended_ops() -> u64 {
    std::env::var("BENCH_OPS").ok().and_then(|v| v.parse().ok()).unwrap_or(UNCONTENDED_OPS_DEFAULT)
}
const CONTENDED_OPS_PER_THREAD: u64 = 500_000;
/// Contended runs per process (and round).
const CONTENDED_RUNS: usize = 5;
const THREADS: usize = 4;
const RUNS: usize = 15;
/// Rounds of all modes, interleaved (`BENCH_ROUNDS`, default 5).
fn rounds() -> usize {
    std::env::var("BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(5)
}

/// The `q`-quantile (0..=1) of `v`, nearest rank.
fn quantile(v: &[f64], q: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() - 1) as f64 * q).round() as usize]
}

fn median(v: &[f64]) -> f64 {
    quantile(v, 0.5)
}

/// Uncontended timings: the fastest run is the cost of the code path; the
/// slower ones measure the noise of a shared 2-core VM.
fn best(v: Vec<f64>) -> f64 {
    v.into_iter().fold(f64::INFINITY, f64::min)
}

fn uncontended<L: Bump>() -> f64 {
    let l = L::make();
    for _ in 0..100_000 {
        black_box(&l).bump();
    }
    best(
        (0..RUNS)
            .map(|_| {
                let t = Instant::now();
                let ops = uncontended_ops();
                for _ in 0..ops {
                    black_box(&l).bump();
                }
                t.elapsed().as_nanos() as f64 / ops as f64
            })
            .collect(),
    )
}

/// Outer lock held while the inner one is taken and released.
fn nested<L: Bump>() -> f64 {
    // the outer lock is locked through a second instance of the same type
    let outer = L::make();
    let inner = L::make();
    let n = uncontended_ops() / 2;
    best(
        (0..RUNS)
            .map(|_| {
                let t = Instant::now();
                for _ in 0..n {
                    nested_once(black_box(&outer), black_box(&inner));
                }
                // two acquisitions per iteration
                t.elapsed().as_nanos() as f64 / (2 * n) as f64
            })
            .collect(),
    )
}

#[inline]
fn nested_once<L: Bump>(outer: &L, inner: &L) {
    // `bump` of the outer one cannot hold it across the inner call, so use
    // a helper trait-free pattern: hold via a closure-free path per type.
    outer_hold(outer, || inner.bump());
}

/// Holds `outer` while running `f`. Implemented by bumping through a type
/// switch so that each lock type keeps its own guard type.
fn outer_hold<L: Bump>(outer: &L, f: impl FnOnce()) {
    let any = outer as &dyn std::any::Any;
    if let Some(m) = any.downcast_ref::<std::sync::Mutex<u64>>() {
        let mut g = m.lock().unwrap();
        *g += 1;
        f();
        return;
    }
    if let Some(m) = any.downcast_ref::<locklens::sync::Mutex<u64>>() {
        let mut g = m.lock().unwrap();
        *g += 1;
        f();
        return;
    }
    #[cfg(feature = "parking_lot")]
    {
        if let Some(m) = any.downcast_ref::<parking_lot::Mutex<u64>>() {
            let mut g = m.lock();
            *g += 1;
            f();
            return;
        }
        if let Some(m) = any.downcast_ref::<locklens::parking_lot::Mutex<u64>>() {
            let mut g = m.lock();
            *g += 1;
            f();
            return;
        }
    }
    unreachable!()
}

/// ns per increment of each run.
fn contended<L: Bump>() -> Vec<f64> {
    (0..CONTENDED_RUNS)
        .map(|_| {
            let l = Arc::new(L::make());
            let start = Arc::new(Barrier::new(THREADS + 1));
            let ts: Vec<_> = (0..THREADS)
                .map(|_| {
                    let (l, start) = (l.clone(), start.clone());
                    std::thread::spawn(move || {
                        start.wait();
                        for _ in 0..CONTENDED_OPS_PER_THREAD {
                            l.bump();
                        }
                    })
                })
                .collect();
            start.wait();
            let t = Instant::now();
            for t in ts {
                t.join().unwrap();
            }
            t.elapsed().as_nanos() as f64 / (THREADS as u64 * CONTENDED_OPS_PER_THREAD) as f64
        })
        .collect()
}

fn run_mode(mode: &str) {
    match mode {
        "off" | "pl-off" => {
            locklens::disable();
        }
        "on" | "pl-on" => {
            let sink = TcpListener::bind("127.0.0.1:0").unwrap();
            let ep = format!("tcp://{}", sink.local_addr().unwrap());
            std::thread::spawn(move || {
                for c in sink.incoming() {
                    let Ok(mut c) = c else { break };
                    std::thread::spawn(move || {
                        let mut buf = vec![0u8; 1 << 16];
                        while matches!(c.read(&mut buf), Ok(n) if n > 0) {}
                    });
                }
            });
            locklens::start(locklens::Config::new(&ep, "bench").unwrap()).unwrap();
            let (st, ok) = locklens::wait_status(Duration::from_secs(5), |s| s.connected);
            assert!(ok, "hook did not connect: {st:?}");
        }
        "pl-dd" => {
            #[cfg(feature = "bench-pl-deadlock-detection")]
            std::thread::spawn(|| loop {
                std::thread::sleep(Duration::from_millis(100));
                assert!(parking_lot::deadlock::check_deadlock().is_empty());
            });
            #[cfg(not(feature = "bench-pl-deadlock-detection"))]
            panic!("mode pl-dd needs the feature bench-pl-deadlock-detection");
        }
        _ => {}
    }
    // BENCH_ONLY=uncontended|nested|contended runs one workload (for
    // `perf stat`, which counts instructions independently of machine load)
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    if !only.is_empty() {
        let f: fn() -> f64 = match (mode, only.as_str()) {
            ("std", "contended") => || median(&contended::<std::sync::Mutex<u64>>()),
            ("off" | "on", "contended") => || median(&contended::<locklens::sync::Mutex<u64>>()),
            #[cfg(feature = "parking_lot")]
            ("pl" | "pl-dd", "contended") => || median(&contended::<parking_lot::Mutex<u64>>()),
            #[cfg(feature = "parking_lot")]
            ("pl-off" | "pl-on", "contended") => || median(&contended::<locklens::parking_lot::Mutex<u64>>()),
            ("std", "uncontended") => uncontended::<std::sync::Mutex<u64>>,
            ("std", "nested") => nested::<std::sync::Mutex<u64>>,
            ("off" | "on", "uncontended") => uncontended::<locklens::sync::Mutex<u64>>,
            ("off" | "on", "nested") => nested::<locklens::sync::Mutex<u64>>,
            #[cfg(feature = "parking_lot")]
            ("pl" | "pl-dd", "uncontended") => uncontended::<parking_lot::Mutex<u64>>,
            #[cfg(feature = "parking_lot")]
            ("pl" | "pl-dd", "nested") => nested::<parking_lot::Mutex<u64>>,
            #[cfg(feature = "parking_lot")]
            ("pl-off" | "pl-on", "nested") => nested::<locklens::parking_lot::Mutex<u64>>,
            #[cfg(feature = "parking_lot")]
            ("pl-off" | "pl-on", "uncontended") => uncontended::<locklens::parking_lot::Mutex<u64>>,
            _ => panic!("BENCH_ONLY={only} not supported for mode {mode}"),
        };
        println!("ONLY {mode} {only} {:.2}", f());
        if mode.ends_with("on") {
            eprintln!("  ({mode}: hook sent {} lines)", locklens::status().sent);
        }
        return;
    }
    let (u, n, c) = match mode {
        "std" => (uncontended::<std::sync::Mutex<u64>>(), nested::<std::sync::Mutex<u64>>(), contended::<std::sync::Mutex<u64>>()),
        "off" | "on" => (
            uncontended::<locklens::sync::Mutex<u64>>(),
            nested::<locklens::sync::Mutex<u64>>(),
            contended::<locklens::sync::Mutex<u64>>(),
        ),
        #[cfg(feature = "parking_lot")]
        "pl" | "pl-dd" => (
            uncontended::<parking_lot::Mutex<u64>>(),
            nested::<parking_lot::Mutex<u64>>(),
            contended::<parking_lot::Mutex<u64>>(),
        ),
        #[cfg(feature = "parking_lot")]
        "pl-off" | "pl-on" => (
            uncontended::<locklens::parking_lot::Mutex<u64>>(),
            nested::<locklens::parking_lot::Mutex<u64>>(),
            contended::<locklens::parking_lot::Mutex<u64>>(),
        ),
        other => panic!("unknown mode {other}"),
    };
    if mode.ends_with("on") {
        assert!(locklens::enabled(), "hook must still be on");
        let st = locklens::status();
        eprintln!("  ({mode}: hook sent {} lines, dropped {})", st.sent, st.dropped);
    }
    let c: Vec<String> = c.iter().map(|x| format!("{x:.2}")).collect();
    println!("RESULT {mode} {u:.2} {n:.2} {}", c.join(" "));
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--mode") {
        run_mode(&args[i + 1]);
        return;
    }
    let mut modes = vec!["std", "off", "on"];
    if cfg!(feature = "parking_lot") {
        modes.extend(["pl", "pl-off", "pl-on"]);
    }
    let pl_dd_bin = std::env::var_os("BENCH_PL_DD_BIN");
    if pl_dd_bin.is_some() {
        modes.push("pl-dd");
    }
    let mut rows: Vec<(String, Vec<f64>)> = Vec::new();
    let mut samples: Vec<(String, Vec<Vec<f64>>)> = modes.iter().map(|m| (m.to_string(), Vec::new())).collect();
    for _round in 0..rounds() {
    for (m, acc) in samples.iter_mut() {
        let exe = match (m.as_str(), &pl_dd_bin) {
            ("pl-dd", Some(b)) => b.into(),
            _ => std::env::current_exe().unwrap(),
        };
        let out = Command::new(exe)
            .args(["--mode", m.as_str()])
            .env_remove("LOCKLENS_ENDPOINT")
            .env_remove("LOCKLENS_TOKEN")
            .output()
            .unwrap();
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
        let s = String::from_utf8_lossy(&out.stdout);
        let line = s.lines().find(|l| l.starts_with("RESULT")).unwrap_or_else(|| panic!("mode {m} failed: {s}"));
        let v: Vec<f64> = line.split_whitespace().skip(2).map(|x| x.parse().unwrap()).collect();
        acc.push(v);
    }
    }
    // best uncontended/nested over rounds; contended: median and quartiles
    // of all runs of all rounds
    let mut spread: Vec<(String, f64, f64, usize)> = Vec::new();
    for (m, acc) in samples {
        let col = |i: usize| acc.iter().map(|v| v[i]).collect::<Vec<f64>>();
        let c: Vec<f64> = acc.iter().flat_map(|v| v[2..].iter().copied()).collect();
        spread.push((m.clone(), quantile(&c, 0.25), quantile(&c, 0.75), c.len()));
        rows.push((m, vec![best(col(0)), best(col(1)), median(&c)]));
    }
    let base = |name: &str| rows.iter().find(|r| r.0 == name).map(|r| r.1.clone());
    let std_ = base("std").unwrap();
    let pl = base("pl");
    let runs = spread[0].3;
    println!("| mode | uncontended ns/op (best) | nested ns/op (best) | contended 4 thr ns/op (median of {runs}) | contended quartiles | uncontended vs std | nested vs std | contended vs std |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for ((m, v), (_, q1, q3, _)) in rows.iter().zip(&spread) {
        println!(
            "| {m} | {:.2} | {:.2} | {:.2} | {q1:.2}–{q3:.2} | {:.2}x | {:.2}x | {:.2}x |",
            v[0],
            v[1],
            v[2],
            v[0] / std_[0],
            v[1] / std_[1],
            v[2] / std_[2]
        );
    }
    if let Some(pl) = pl {
        for m in ["pl-off", "pl-on", "on", "pl-dd"] {
            if let Some(v) = base(m) {
                println!(
                    "\n{m} vs parking_lot: uncontended {:.2}x, nested {:.2}x, contended {:.2}x",
                    v[0] / pl[0],
                    v[1] / pl[1],
                    v[2] / pl[2]
                );
            }
        }
    }
    if let Some(dd) = base("pl-dd") {
        for m in ["on", "pl-on"] {
            if let Some(v) = base(m) {
                println!(
                    "\n{m} vs parking_lot deadlock_detection (pl-dd): uncontended {:.2}x, nested {:.2}x, contended {:.2}x",
                    v[0] / dd[0],
                    v[1] / dd[1],
                    v[2] / dd[2]
                );
            }
        }
    }
}
