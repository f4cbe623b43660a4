//! The examples, run as real processes: plain (no environment) and under
//! the hook with a collector in this test, `LOCKLENS_ON_DEADLOCK=abort`.
//! `cargo test` builds the examples before running integration tests.

#![cfg(unix)]

mod common;

use common::{lock_name, Collector, Json};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, Output};

fn example(name: &str) -> PathBuf {
    // target/<profile>/deps/examples-<hash>  ->  target/<profile>/examples/<name>
    let exe = std::env::current_exe().unwrap();
    let p = exe.parent().unwrap().parent().unwrap().join("examples").join(name);
    assert!(p.exists(), "{} not built (run through `cargo test`, which builds examples)", p.display());
    p
}

fn run(name: &str, hook: Option<(&Collector, &str)>) -> Output {
    run_with(name, hook, &[])
}

fn run_with(name: &str, hook: Option<(&Collector, &str)>, extra: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(example(name));
    cmd.env_remove("LOCKLENS_ENDPOINT").env_remove("LOCKLENS_TOKEN").env_remove("RUST_BACKTRACE");
    cmd.env("LOCKLENS_EXAMPLE_TIMEOUT_MS", "8000");
    if let Some((c, on_deadlock)) = hook {
        cmd.env("LOCKLENS_ENDPOINT", c.endpoint())
            .env("LOCKLENS_TOKEN", format!("tok-{name}"))
            .env("LOCKLENS_ON_DEADLOCK", on_deadlock);
    } else {
        cmd.env("LOCKLENS_EXAMPLE_TIMEOUT_MS", "300");
    }
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn deadlock_of(c: &Collector) -> Json {
    c.wait_for("deadlock", |j| j.ty() == "deadlock")
}

#[test]
fn midas_abba_is_reported_then_aborted_under_the_hook() {
    let c = Collector::start();
    let out = run("midas_abba", Some((&c, "abort")));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.signal(), Some(6), "expected SIGABRT; stderr:\n{stderr}");
    assert!(stderr.contains("DEADLOCK") && stderr.contains("\"ODB\"") && stderr.contains("\"SYSMSG\""), "{stderr}");
    assert!(!stderr.contains("exiting (watchdog)"));
    let hello = c.wait_for("hello", |j| j.ty() == "hello");
    assert_eq!(hello.get("token").str(), Some("tok-midas_abba"));
    assert_eq!(hello.at("config.on_deadlock").str(), Some("abort"));
    let d = deadlock_of(&c);
    assert_eq!(d.get("action").str(), Some("abort"));
    let cycle = d.get("cycle").arr();
    assert_eq!(cycle.len(), 2);
    let by_thread = |t: &str| cycle.iter().find(|n| n.at("thread.name").str() == Some(t)).unwrap();
    let odbedit = by_thread("odbedit");
    assert_eq!(lock_name(odbedit.get("waits_for")), Some("SYSMSG"));
    assert_eq!(lock_name(odbedit.at("holds.0.lock")), Some("ODB"));
    let wd = by_thread("cm_watchdog");
    assert_eq!(lock_name(wd.get("waits_for")), Some("ODB"));
    assert_eq!(lock_name(wd.at("holds.0.lock")), Some("SYSMSG"));
    for n in cycle {
        assert!(n.at("site.file").str().unwrap().ends_with("midas_abba.rs"));
        assert!(n.at("holds.0.site.line").num().unwrap() > 0);
    }
    // the ODB -> SYSMSG order edge (and its inverse) were reported too
    let edges: Vec<(String, String)> = c
        .all()
        .iter()
        .filter(|j| j.ty() == "edge")
        .map(|j| (lock_name(j.at("from.lock")).unwrap().into(), lock_name(j.at("to.lock")).unwrap().into()))
        .collect();
    assert!(edges.is_empty() || edges.iter().all(|(a, b)| a != b), "{edges:?}");
}

#[test]
fn flyio_self_deadlock_is_reported_then_aborted_under_the_hook() {
    let c = Collector::start();
    let out = run("flyio_catalog", Some((&c, "abort")));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.signal(), Some(6), "expected SIGABRT; stderr:\n{stderr}");
    assert!(stderr.contains("catalog.load"), "{stderr}");
    let d = deadlock_of(&c);
    let cycle = d.get("cycle").arr();
    assert_eq!(cycle.len(), 1, "a thread waiting for itself");
    let n = &cycle[0];
    assert_eq!(n.at("thread.name").str(), Some("main"));
    assert_eq!(n.get("mode").str(), Some("write"));
    assert_eq!(n.get("held_by").arr(), &[n.at("thread.id").clone()]);
    assert_eq!(n.at("holds.0.mode").str(), Some("read"));
    assert_eq!(lock_name(n.get("waits_for")), Some("catalog.load"));
    // the read site (the if-let) and the write site (init_for) are distinct lines
    assert_ne!(n.at("holds.0.site.line").num(), n.at("site.line").num());
    assert!(String::from_utf8_lossy(&out.stdout).contains("warm-app -> 7"));
}

#[test]
fn report_mode_reports_and_keeps_waiting() {
    let c = Collector::start();
    let out = run_with(
        "midas_abba",
        Some((&c, "report")),
        &[("LOCKLENS_STALL_MS", "200"), ("LOCKLENS_EXAMPLE_TIMEOUT_MS", "1500")],
    );
    // report mode: the process stays deadlocked until its watchdog ends it
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(deadlock_of(&c).get("action").str(), Some("report"));
    let stall = c.wait_for("stall", |j| j.ty() == "stall");
    assert!(stall.get("waited_ms").num().unwrap() >= 200);
    assert_eq!(stall.get("holders").arr().len(), 1);
}

#[test]
fn deadlock_examples_end_by_watchdog_without_the_hook() {
    for name in ["midas_abba", "flyio_catalog"] {
        let out = run(name, None);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{name}: {stderr}");
        assert!(stderr.contains("watchdog") && !stderr.contains("locklens:"), "{name}: {stderr}");
    }
}

#[test]
fn contention_example_finishes_and_reports_contention() {
    let out = run("contention", None);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("counter=75000"));

    let c = Collector::start();
    let out = run("contention", Some((&c, "abort")));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("counter=75000"));
    c.wait_closed(1);
    let all = c.all();
    assert!(!all.iter().any(|j| j.ty() == "deadlock"));
    // stats -> counter is the only order edge
    let edges: Vec<&Json> = all.iter().filter(|j| j.ty() == "edge").collect();
    assert_eq!(edges.len(), 1, "{edges:?}");
    assert_eq!(lock_name(edges[0].at("from.lock")), Some("stats"));
    assert_eq!(lock_name(edges[0].at("to.lock")), Some("counter"));
    // the final snapshot has every acquisition: 4 threads x 20000 on sessions
    assert!(String::from_utf8_lossy(&out.stdout).contains("flushed=true"));
    // latest cumulative value per (class, site, mode), summed per class/mode
    let mut latest: std::collections::HashMap<String, (String, u64)> = Default::default();
    for s in all.iter().filter(|j| j.ty() == "snapshot") {
        for e in s.get("entries").arr() {
            let k = format!("{}/{}", e.at("class.name").str().unwrap(), e.get("mode").str().unwrap());
            let site = format!("{}:{}", e.at("site.line").num().unwrap(), e.at("site.col").num().unwrap());
            latest.insert(format!("{k}@{site}"), (k, e.get("acquisitions").num().unwrap()));
        }
    }
    let mut acq: std::collections::HashMap<String, u64> = Default::default();
    for (k, n) in latest.into_values() {
        *acq.entry(k).or_default() += n;
    }
    let sessions = acq.get("sessions/read").copied().unwrap_or(0) + acq.get("sessions/write").copied().unwrap_or(0);
    let dropped = all.iter().rfind(|j| j.ty() == "snapshot").unwrap().get("dropped").num().unwrap();
    // 4 x 20000 by the workers + 1 read by main
    assert_eq!(sessions, 80_001, "{acq:?}");
    assert_eq!(acq.get("counter/mutex"), Some(&75_001));
    let waits = all.iter().filter(|j| j.ty() == "wait").count() as u64;
    assert!(waits + dropped > 0, "4 threads on one mutex must contend");
}

#[test]
fn deadlock_report_carries_backtraces_when_rust_backtrace_is_set() {
    let c = Collector::start();
    let out = run_with("midas_abba", Some((&c, "abort")), &[("RUST_BACKTRACE", "1")]);
    assert_eq!(out.status.signal(), Some(6), "{}", String::from_utf8_lossy(&out.stderr));
    let d = deadlock_of(&c);
    for n in d.get("cycle").arr() {
        let bt = n.get("backtrace").str().expect("backtrace present");
        assert!(bt.lines().count() > 3, "{bt}");
        // each waiting thread's own frames (in debug builds; release builds
        // inline them away)
        if cfg!(debug_assertions) {
            let f = if n.at("thread.name").str() == Some("odbedit") { "cm_msg" } else { "cm_msg_with_client_name" };
            assert!(bt.contains(f), "{}: {bt}", n.at("thread.name").str().unwrap());
        }
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    if cfg!(debug_assertions) {
        assert!(stderr.contains("midas_abba::Midas::"), "backtrace printed with the report: {stderr}");
    }
}
