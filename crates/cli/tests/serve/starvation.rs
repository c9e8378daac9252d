//! Clients that trickle cannot take a service down: a real Python service
//! (componentize-py from PyPI, built as a user builds one) under twice its
//! concurrency cap of clients that send a few bytes of a body and stop.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::server::{Served, get, service};

/// The Python service (tests/guests/python-http), built once per test run
/// into the target directory by `scripts/lib/python-http-guest`.
fn python_service() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("python-guest");
    wharf_testkit::build_once(&dir.join("built"), "app.wasm", |out| {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/lib/python-http-guest");
        let status = std::process::Command::new(script)
            .arg(&dir)
            .arg(out)
            .status()
            .expect("scripts/lib/python-http-guest");
        assert!(status.success(), "the Python service did not build");
    })
}

/// A client that sends the head of a POST announcing a large body, and
/// then three bytes of it, and nothing more.
fn trickler(served: &Served) -> TcpStream {
    let mut stream = TcpStream::connect(served.authority()).expect("connect");
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999\r\n\r\nabc")
        .expect("write");
    stream
}

#[test]
fn twice_the_cap_of_trickling_clients_never_make_a_500_and_leave_within_the_body_timeout() {
    let served = Served::start(
        &["--max-concurrency", "4", "--body-timeout", "2s"],
        &python_service(),
    );
    assert_eq!(get(&served, "/").status, 200, "{}", served.stderr());
    let tricklers: Vec<TcpStream> = (0..8).map(|_| trickler(&served)).collect();
    std::thread::sleep(Duration::from_millis(300));
    let attacked = Instant::now();
    let mut seen: BTreeMap<u16, usize> = BTreeMap::new();
    while attacked.elapsed() < Duration::from_millis(1200) {
        let reply = get(&served, "/");
        if reply.status == 503 {
            assert!(
                reply
                    .headers
                    .to_ascii_lowercase()
                    .contains("retry-after: 1"),
                "{}",
                reply.headers
            );
        }
        *seen.entry(reply.status).or_default() += 1;
    }
    assert!(
        seen.keys().all(|status| matches!(status, 200 | 503)),
        "a well-behaved client saw {seen:?}; stderr:\n{}",
        served.stderr()
    );
    assert!(
        seen.contains_key(&503),
        "the cap was never reached: {seen:?}"
    );
    // Within the body timeout the tricklers are let go, and it is served.
    let deadline = attacked + Duration::from_secs(6);
    loop {
        let reply = get(&served, "/");
        if reply.status == 200 {
            assert_eq!(reply.body, "hello from python\n");
            break;
        }
        assert_eq!(reply.status, 503, "{reply:?}");
        assert!(
            Instant::now() < deadline,
            "still busy after the body timeout"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut timed_out = 0;
    for mut trickler in tricklers {
        trickler
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut answer = Vec::new();
        let _ = trickler.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.starts_with("HTTP/1.1 408") || answer.starts_with("HTTP/1.1 503"),
            "{answer}"
        );
        timed_out += usize::from(answer.starts_with("HTTP/1.1 408"));
    }
    assert_eq!(timed_out, 4, "each admitted trickler timed out");
}

#[test]
fn connections_past_a_clients_cap_are_answered_503_and_closed() {
    let served = Served::start(&["--max-connections-per-client", "4"], &service());
    let held: Vec<TcpStream> = (0..4)
        .map(|_| TcpStream::connect(served.authority()).expect("connect"))
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let mut refused = TcpStream::connect(served.authority()).expect("connect");
    refused
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut answer = String::new();
    let _ = refused.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer:?}");
    assert!(answer.contains("Retry-After: 1"), "{answer}");
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(5);
    while get(&served, "/").status != 200 {
        assert!(Instant::now() < deadline, "the slots did not come back");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_response_the_client_never_reads_lets_its_request_go() {
    let served = Served::start(
        &["--max-concurrency", "1", "--body-timeout", "1s"],
        &service(),
    );
    // 64 MiB the client never takes: the only slot, until the stall ends it.
    let mut stalled = TcpStream::connect(served.authority()).expect("connect");
    stalled
        .write_all(b"GET /big?64 HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        get(&served, "/").status,
        503,
        "the stalled response holds the slot"
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let reply = get(&served, "/");
        if reply.status == 200 {
            break;
        }
        assert_eq!(reply.status, 503, "{reply:?}");
        assert!(
            Instant::now() < deadline,
            "the unread response kept its slot"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(stalled);
}
