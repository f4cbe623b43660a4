//! Environment handling, checked in child processes (the hook reads the
//! environment once per process). The `child_*` tests are `#[ignore]`d and
//! only run when re-executed by their parent with the variables set.

use std::process::Command;

fn run_child(name: &str, envs: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", name, "--ignored", "--nocapture", "--test-threads=1"]);
    cmd.env_remove("LOCKLENS_ENDPOINT").env_remove("LOCKLENS_TOKEN");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn non_loopback_endpoint_is_refused_with_one_line() {
    for ep in ["tcp://192.0.2.1:9000", "tcp://example.com:80", "tcp://0.0.0.0:1"] {
        let out = run_child("child_reports_off", &[("LOCKLENS_ENDPOINT", ep), ("LOCKLENS_TOKEN", "t")]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("locklens:")).collect();
        assert_eq!(lines.len(), 1, "{stderr}");
        assert!(lines[0].contains("refused") && lines[0].contains("loopback"), "{}", lines[0]);
        assert!(String::from_utf8_lossy(&out.stdout).contains("CHILD-OFF"));
    }
}

#[test]
fn bad_settings_are_refused_and_token_is_required() {
    let out = run_child(
        "child_reports_off",
        &[("LOCKLENS_ENDPOINT", "tcp://127.0.0.1:9"), ("LOCKLENS_TOKEN", "t"), ("LOCKLENS_ON_DEADLOCK", "explode")],
    );
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("LOCKLENS_ON_DEADLOCK"));
    // endpoint without token: silently off
    let out = run_child("child_reports_off", &[("LOCKLENS_ENDPOINT", "tcp://127.0.0.1:9")]);
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("locklens:"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("CHILD-OFF"));
}

#[test]
#[ignore = "child process of the tests above"]
fn child_reports_off() {
    let m = locklens::sync::Mutex::new(1);
    assert_eq!(*m.lock().unwrap(), 1);
    assert!(!locklens::enabled());
    println!("CHILD-OFF");
}
