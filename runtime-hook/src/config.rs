//! Configuration, read once from the environment (or given to [`start`]).
//!
//! [`start`]: crate::start

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

/// What to do after a deadlock has been found and reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnDeadlock {
    /// Send the `deadlock` message and print it to stderr (default).
    Report,
    /// Report as above, wait (bounded) until the message is written, then
    /// `std::process::abort()`. Cycles that will end by a timed wait
    /// (`try_lock_for`) are reported but do not abort.
    Abort,
}

impl OnDeadlock {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            OnDeadlock::Report => "report",
            OnDeadlock::Abort => "abort",
        }
    }
}

/// Runtime configuration of the hook.
#[derive(Clone, Debug)]
pub struct Config {
    /// Loopback address of the LockLens listener.
    pub endpoint: SocketAddr,
    /// Shared secret sent in the hello line.
    pub token: String,
    /// A wait longer than this produces a `stall` message (`LOCKLENS_STALL_MS`).
    pub stall: Duration,
    /// Interval of `snapshot` messages and of the background scan.
    pub snapshot_interval: Duration,
    /// One in `sample_every` acquisitions of each (class, site, mode) in a
    /// thread, starting with its first, has its hold time measured
    /// (`LOCKLENS_SAMPLE`, default 64; rounded up to a power of two when
    /// the hook starts). Contended waits are always timed.
    pub sample_every: u32,
    /// Capacity of the event queue (`LOCKLENS_QUEUE`); beyond it events are
    /// dropped and counted.
    pub queue_capacity: usize,
    /// Connection attempts (with doubling back-off from 50 ms) before the hook
    /// gives up and switches itself off.
    pub connect_attempts: u32,
    /// What to do once a deadlock is reported (`LOCKLENS_ON_DEADLOCK`).
    pub on_deadlock: OnDeadlock,
    /// Capture backtraces of waiting threads (when `RUST_BACKTRACE` or
    /// `RUST_LIB_BACKTRACE` is set and not `0`).
    pub backtraces: bool,
}

impl Config {
    /// A configuration with defaults for everything but endpoint and token.
    /// Fails with a one-line message if the endpoint is not loopback.
    pub fn new(endpoint: &str, token: &str) -> Result<Config, String> {
        let endpoint = parse_endpoint(endpoint)?;
        if token.is_empty() {
            return Err("LOCKLENS_TOKEN is empty".to_string());
        }
        Ok(Config {
            endpoint,
            token: token.to_string(),
            stall: Duration::from_millis(1000),
            snapshot_interval: Duration::from_millis(100),
            sample_every: 64,
            queue_capacity: 4096,
            connect_attempts: 6,
            on_deadlock: OnDeadlock::Report,
            backtraces: false,
        })
    }

    /// Reads `LOCKLENS_ENDPOINT`, `LOCKLENS_TOKEN`, `LOCKLENS_STALL_MS`,
    /// `LOCKLENS_ON_DEADLOCK`, `LOCKLENS_SAMPLE`, `LOCKLENS_QUEUE` and
    /// `RUST_BACKTRACE`. `Ok(None)` when endpoint or token is unset (hook off).
    pub fn from_env() -> Result<Option<Config>, String> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let (Some(ep), Some(token)) = (var("LOCKLENS_ENDPOINT"), var("LOCKLENS_TOKEN")) else {
            return Ok(None);
        };
        let mut c = Config::new(&ep, &token)?;
        if let Some(v) = var("LOCKLENS_STALL_MS") {
            let ms: u64 = v.parse().map_err(|_| format!("LOCKLENS_STALL_MS={v:?} is not a number"))?;
            c.stall = Duration::from_millis(ms.max(1));
        }
        if let Some(v) = var("LOCKLENS_ON_DEADLOCK") {
            c.on_deadlock = match v.as_str() {
                "report" => OnDeadlock::Report,
                "abort" => OnDeadlock::Abort,
                _ => return Err(format!("LOCKLENS_ON_DEADLOCK={v:?} must be \"report\" or \"abort\"")),
            };
        }
        if let Some(v) = var("LOCKLENS_SAMPLE") {
            let n: u32 = v.parse().map_err(|_| format!("LOCKLENS_SAMPLE={v:?} is not a number"))?;
            c.sample_every = n.max(1);
        }
        if let Some(v) = var("LOCKLENS_QUEUE") {
            let n: usize = v.parse().map_err(|_| format!("LOCKLENS_QUEUE={v:?} is not a number"))?;
            c.queue_capacity = n.max(1);
        }
        let bt = var("RUST_LIB_BACKTRACE").or_else(|| var("RUST_BACKTRACE"));
        c.backtraces = matches!(bt.as_deref(), Some(v) if v != "0");
        Ok(Some(c))
    }
}

/// Accepts `tcp://HOST:PORT` or `HOST:PORT` where HOST is an IPv4 loopback
/// address (127.0.0.0/8), `::1` (in brackets) or `localhost`.
pub(crate) fn parse_endpoint(s: &str) -> Result<SocketAddr, String> {
    let refuse = |why: &str| {
        format!("LOCKLENS_ENDPOINT {s:?} refused: {why}; only loopback (127.0.0.0/8, ::1, localhost) is allowed, hook stays off")
    };
    let rest = s.strip_prefix("tcp://").unwrap_or(s);
    if rest.contains("://") {
        return Err(refuse("only tcp:// is supported"));
    }
    let rest = rest.trim_end_matches('/');
    if let Some(port) = rest.strip_prefix("localhost:") {
        let port: u16 = port.parse().map_err(|_| refuse("bad port"))?;
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    let addr: SocketAddr = rest.parse().map_err(|_| refuse("not HOST:PORT with a literal loopback address"))?;
    if !addr.ip().is_loopback() {
        return Err(refuse("not a loopback address"));
    }
    if addr.port() == 0 {
        return Err(refuse("port 0"));
    }
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert_eq!(parse_endpoint("tcp://127.0.0.1:9000").unwrap(), "127.0.0.1:9000".parse().unwrap());
        assert_eq!(parse_endpoint("127.3.2.1:1").unwrap(), "127.3.2.1:1".parse().unwrap());
        assert_eq!(parse_endpoint("tcp://[::1]:80").unwrap(), "[::1]:80".parse().unwrap());
        assert_eq!(parse_endpoint("tcp://localhost:7").unwrap(), "127.0.0.1:7".parse().unwrap());
        for bad in [
            "tcp://10.0.0.1:9000",
            "tcp://0.0.0.0:9000",
            "tcp://example.com:80",
            "tcp://[::2]:80",
            "udp://127.0.0.1:9",
            "tcp://127.0.0.1",
            "tcp://127.0.0.1:0",
            "tcp://localhost.evil.com:80",
        ] {
            let e = parse_endpoint(bad).unwrap_err();
            assert!(e.contains("refused") && !e.contains('\n'), "{bad}: {e}");
        }
    }
}
