//! The golden contract of the wire format: representative messages of every
//! type, serialised by the hook, must equal the lines of
//! `tests/wire_samples.ndjson` byte for byte. The TypeScript side checks
//! its parser against the same file.
//!
//! After an intended format change: `LOCKLENS_BLESS=1 cargo test --test wire_golden`
//! rewrites the file (and `docs/protocol.md` must be updated with it).

mod common;

use locklens::wire::*;

fn site(file: &'static str, line: u32, col: u32) -> Site {
    Site { file, line, col }
}

fn thread(id: u64, name: Option<&str>, tid: u64) -> ThreadRef {
    ThreadRef { id, name: name.map(str::to_string), os_tid: Some(tid) }
}

fn catalog() -> LockRef {
    LockRef {
        id: 1,
        class: ClassRef { id: 1, kind: Kind::StdRwLock, name: Some("catalog.load"), created: site("src/catalog.rs", 41, 19) },
    }
}

fn odb() -> LockRef {
    LockRef { id: 2, class: ClassRef { id: 2, kind: Kind::PlMutex, name: None, created: site("src/odb.rs", 12, 28) } }
}

fn sysmsg() -> LockRef {
    LockRef {
        id: 3,
        class: ClassRef { id: 3, kind: Kind::StdMutex, name: Some("SYSMSG"), created: site("src/msg.rs", 8, 30) },
    }
}

fn samples() -> Vec<Message> {
    vec![
        Message::Hello(Hello {
            token: "s3cr3t-\"quoted\"\\path".into(),
            pid: 4242,
            program: "/srv/fly-proxy".into(),
            start_unix_ms: 1_763_800_000_000,
            stall_ms: 1000,
            snapshot_ms: 100,
            sample_every: 64,
            on_deadlock: "report",
            queue_capacity: 4096,
        }),
        Message::Wait(Wait {
            t_ms: 1530,
            thread: thread(7, Some("tokio-runtime-worker"), 31337),
            lock: catalog(),
            mode: Mode::Write,
            site: site("src/catalog.rs", 88, 22),
            timed: false,
            holders: vec![Holder {
                thread: thread(3, None, 31330),
                mode: Mode::Read,
                site: site("src/catalog.rs", 80, 40),
                since_ms: 1500,
            }],
            last: Some(LastAcquire { thread: thread(3, None, 31330), mode: Mode::Read, site: site("src/catalog.rs", 80, 40) }),
        }),
        Message::Wait(Wait {
            t_ms: 2000,
            thread: thread(9, Some("büro\tline\n"), 31400),
            lock: odb(),
            mode: Mode::Mutex,
            site: site("src/odb.rs", 30, 9),
            timed: true,
            holders: vec![],
            last: None,
        }),
        Message::Edge(Edge {
            t_ms: 12,
            thread: thread(2, Some("odb-writer"), 31301),
            from: EdgeEnd { lock: odb(), mode: Mode::Mutex, site: site("src/odb.rs", 30, 9) },
            to: EdgeEnd { lock: sysmsg(), mode: Mode::Mutex, site: site("src/msg.rs", 20, 17) },
        }),
        Message::OrderCycle(OrderCycle {
            t_ms: 31,
            edges: vec![
                Edge {
                    t_ms: 12,
                    thread: thread(2, Some("odb-writer"), 31301),
                    from: EdgeEnd { lock: odb(), mode: Mode::Mutex, site: site("src/odb.rs", 30, 9) },
                    to: EdgeEnd { lock: sysmsg(), mode: Mode::Mutex, site: site("src/msg.rs", 20, 17) },
                },
                Edge {
                    t_ms: 31,
                    thread: thread(5, Some("cm_watchdog"), 31305),
                    from: EdgeEnd { lock: sysmsg(), mode: Mode::Mutex, site: site("src/msg.rs", 19, 17) },
                    to: EdgeEnd { lock: odb(), mode: Mode::Mutex, site: site("src/odb.rs", 31, 9) },
                },
            ],
        }),
        Message::Deadlock(Deadlock {
            t_ms: 15,
            action: "abort",
            cycle: vec![
                CycleNode {
                    thread: thread(2, Some("odb-writer"), 31301),
                    waits_for: sysmsg(),
                    mode: Mode::Mutex,
                    site: site("src/msg.rs", 20, 17),
                    timed: false,
                    wait_since_ms: 14,
                    held_by: vec![3],
                    holds: vec![Held { lock: odb(), mode: Mode::Mutex, site: site("src/odb.rs", 30, 9), since_ms: 13 }],
                    backtrace: Some("   0: midas::cm_msg\n   1: midas::db_set_value".into()),
                },
                CycleNode {
                    thread: thread(3, Some("cm_msg"), 31302),
                    waits_for: odb(),
                    mode: Mode::Mutex,
                    site: site("src/odb.rs", 31, 9),
                    timed: false,
                    wait_since_ms: 14,
                    held_by: vec![2],
                    holds: vec![Held { lock: sysmsg(), mode: Mode::Mutex, site: site("src/msg.rs", 19, 17), since_ms: 13 }],
                    backtrace: None,
                },
            ],
        }),
        Message::Deadlock(Deadlock {
            t_ms: 40,
            action: "report",
            cycle: vec![CycleNode {
                thread: thread(1, Some("main"), 31300),
                waits_for: catalog(),
                mode: Mode::Write,
                site: site("src/catalog.rs", 92, 18),
                timed: false,
                wait_since_ms: 39,
                held_by: vec![1],
                holds: vec![Held { lock: catalog(), mode: Mode::Read, site: site("src/catalog.rs", 88, 35), since_ms: 39 }],
                backtrace: None,
            }],
        }),
        Message::Stall(Stall {
            t_ms: 2600,
            thread: thread(7, Some("tokio-runtime-worker"), 31337),
            lock: catalog(),
            mode: Mode::Write,
            site: site("src/catalog.rs", 88, 22),
            waited_ms: 1070,
            holders: vec![],
            last: Some(LastAcquire {
                thread: thread(4, Some("corrosion-sync"), 31340),
                mode: Mode::Upgradable,
                site: site("src/sync.rs", 140, 30),
            }),
        }),
        Message::Snapshot(Snapshot {
            t_ms: 2700,
            seq: 27,
            threads: 5,
            dropped: 3,
            entries: vec![
                SnapshotEntry {
                    class: catalog().class,
                    site: site("src/catalog.rs", 80, 40),
                    mode: Mode::Read,
                    counters: SiteCounters {
                        acquisitions: 120_000,
                        contended: 12,
                        try_failed: 0,
                        wait_ns_total: 3_400_000,
                        wait_ns_max: 900_000,
                        hold_samples: 1875,
                        hold_ns_total: 2_250_000,
                        hold_ns_max: 15_000,
                    },
                },
                SnapshotEntry {
                    class: ClassRef {
                        id: 4,
                        kind: Kind::PlReentrantMutex,
                        name: None,
                        created: site("src/io.rs", 5, 1),
                    },
                    site: site("src/io.rs", 50, 13),
                    mode: Mode::Reentrant,
                    counters: SiteCounters { acquisitions: 1, ..SiteCounters::default() },
                },
            ],
            holders: vec![
                HeldNow {
                    thread: thread(3, None, 31330),
                    lock: catalog(),
                    mode: Mode::Read,
                    site: site("src/catalog.rs", 80, 40),
                    since_ms: 1500,
                },
                HeldNow {
                    thread: thread(2, Some("odb-writer"), 31301),
                    lock: odb(),
                    mode: Mode::Mutex,
                    site: site("src/odb.rs", 30, 9),
                    since_ms: 2690,
                },
            ],
        }),
        Message::Snapshot(Snapshot { t_ms: 2800, seq: 28, threads: 5, dropped: 3, entries: vec![], holders: vec![] }),
    ]
}

#[test]
fn wire_samples_match_golden_file() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/wire_samples.ndjson");
    let produced: Vec<String> = samples().iter().map(|m| m.to_json()).collect();
    if std::env::var_os("LOCKLENS_BLESS").is_some() {
        std::fs::write(path, produced.join("\n") + "\n").unwrap();
    }
    let golden = std::fs::read_to_string(path).expect("tests/wire_samples.ndjson");
    let golden: Vec<&str> = golden.lines().collect();
    assert_eq!(golden.len(), produced.len(), "sample count differs from the golden file");
    for (i, (g, p)) in golden.iter().zip(&produced).enumerate() {
        assert_eq!(g, p, "line {} of wire_samples.ndjson differs", i + 1);
    }
}

#[test]
fn every_sample_is_valid_json_with_version_and_type() {
    let types: Vec<String> = samples()
        .iter()
        .map(|m| {
            let j = common::Json::parse(&m.to_json()).expect("valid JSON");
            assert_eq!(j.get("v").num(), Some(PROTOCOL_VERSION));
            j.ty().to_string()
        })
        .collect();
    for t in ["hello", "wait", "edge", "order_cycle", "deadlock", "stall", "snapshot"] {
        assert!(types.iter().any(|x| x == t), "no sample of type {t}");
    }
    // escaping round-trips
    let hello = common::Json::parse(&samples()[0].to_json()).unwrap();
    assert_eq!(hello.get("token").str(), Some("s3cr3t-\"quoted\"\\path"));
    let w = common::Json::parse(&samples()[2].to_json()).unwrap();
    assert_eq!(w.at("thread.name").str(), Some("büro\tline\n"));
}
