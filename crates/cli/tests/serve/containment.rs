//! One request cannot take the server, or the next request, down.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::server::{Served, curl, get, service};

#[test]
fn a_trapping_request_answers_500_and_the_next_one_200() {
    let served = Served::start(&[], &service());
    let trapped = get(&served, "/trap");
    assert_eq!(trapped.status, 500, "{trapped:?}");
    assert_eq!(get(&served, "/").status, 200);
    assert!(
        served.stderr().contains("request failed"),
        "{}",
        served.stderr()
    );
}

#[test]
fn a_spinning_or_sleeping_request_answers_504_within_its_timeout() {
    let served = Served::start(&["--request-timeout", "1s"], &service());
    for path in ["/spin", "/sleep?30000"] {
        let started = Instant::now();
        let reply = get(&served, path);
        assert_eq!(reply.status, 504, "{path}: {reply:?}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{path} took {:?}",
            started.elapsed()
        );
        assert_eq!(get(&served, "/").status, 200, "after {path}");
    }
}

#[test]
fn a_request_never_sees_what_an_earlier_request_left_in_its_instance() {
    // The route counts in a static: an instance that took a second request
    // would answer 2.
    let served = Served::start(&[], &service());
    for _ in 0..5 {
        assert_eq!(get(&served, "/count").body, "1");
    }
    let together: Vec<_> = (0..8)
        .map(|_| {
            let url = served.url("/count");
            std::thread::spawn(move || curl(&url, &[]).body)
        })
        .collect();
    for request in together {
        assert_eq!(request.join().expect("request"), "1");
    }
}

#[test]
fn memory_is_capped_per_instance() {
    let served = Served::start(&["--memory", "32m"], &service());
    assert_eq!(get(&served, "/alloc?64").status, 507);
    // Each request starts afresh: the failed one left nothing behind.
    for _ in 0..3 {
        assert_eq!(get(&served, "/alloc?16").status, 200);
    }
}

#[test]
fn two_hundred_requests_twenty_at_a_time_all_answer_200() {
    let served = Served::start(&[], &service());
    let url = served.url("/");
    let mut args = vec![
        "-sS",
        "--parallel",
        "--parallel-max",
        "20",
        "-w",
        "%{http_code}\n",
    ];
    for _ in 0..200 {
        args.extend(["-o", "/dev/null", url.as_str()]);
    }
    let output = std::process::Command::new("curl")
        .args(&args)
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&output.stdout);
    let codes: Vec<&str> = text.lines().collect();
    assert_eq!(codes.len(), 200, "{text}");
    assert!(codes.iter().all(|code| *code == "200"), "{text}");
}

#[test]
fn past_the_concurrency_cap_requests_answer_503_with_retry_after() {
    let served = Served::start(&["--max-concurrency", "2"], &service());
    let slow: Vec<_> = (0..2)
        .map(|_| {
            let url = served.url("/sleep?3000");
            std::thread::spawn(move || curl(&url, &[]).status)
        })
        .collect();
    std::thread::sleep(Duration::from_millis(700));
    let busy = get(&served, "/");
    assert_eq!(busy.status, 503, "{busy:?}");
    assert!(
        busy.headers.to_ascii_lowercase().contains("retry-after: 1"),
        "{}",
        busy.headers
    );
    for request in slow {
        assert_eq!(request.join().expect("slow request"), 200);
    }
    assert_eq!(get(&served, "/").status, 200);
}

#[test]
fn a_client_trickling_its_headers_is_timed_out_while_others_are_served() {
    let served = Served::start(&[], &service());
    let mut slow = TcpStream::connect(served.authority()).expect("connect");
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .expect("write");
    let started = Instant::now();
    for _ in 0..3 {
        assert_eq!(get(&served, "/").status, 200);
    }
    slow.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut rest = Vec::new();
    let _ = slow.read_to_end(&mut rest);
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "the slow client was kept {:?}",
        started.elapsed()
    );
    let text = String::from_utf8_lossy(&rest);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
}

#[test]
fn oversized_heads_answer_431_and_oversized_bodies_413() {
    let served = Served::start(&[], &service());
    let big = format!("X-Big: {}", "a".repeat(100 << 10));
    assert_eq!(curl(&served.url("/"), &["-H", &big]).status, 431);
    let mut stream = TcpStream::connect(served.authority()).expect("connect");
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000000\r\n\r\nabc")
        .expect("write");
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).expect("read the status line");
    assert_eq!(&head, b"HTTP/1.1 413");
}

#[test]
fn sigterm_lets_the_in_flight_request_finish_then_exits_0_and_frees_the_port() {
    let mut served = Served::start(&[], &service());
    let url = served.url("/sleep?1500");
    let in_flight = std::thread::spawn(move || curl(&url, &[]));
    std::thread::sleep(Duration::from_millis(500));
    served.signal(libc::SIGTERM);
    // The port is free while the request drains: nothing accepts any more.
    let deadline = Instant::now() + Duration::from_secs(1);
    let freed = loop {
        match std::net::TcpListener::bind(served.authority()) {
            Ok(listener) => break Some(listener),
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Err(_) => break None,
        }
    };
    assert!(freed.is_some(), "the port stayed bound during the drain");
    drop(freed);
    let reply = in_flight.join().expect("request");
    assert_eq!((reply.status, reply.body.as_str()), (200, "slept"));
    let (status, _) = served.wait(Duration::from_secs(15));
    assert_eq!(status.code(), Some(0), "stderr: {}", served.stderr());
    std::net::TcpListener::bind(served.authority()).expect("the port is free again");
}
