//! The network policy: nothing goes out unless allowed.

use std::sync::atomic::Ordering;

use crate::server::{Served, get, service, upstream};

#[test]
fn outgoing_http_is_denied_until_allowed() {
    let (port, hits) = upstream("upstream says hi");
    let target = format!("/fetch?127.0.0.1:{port}");
    let denied = Served::start(&[], &service());
    let reply = get(&denied, &target);
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (502, "HTTP-request-denied")
    );
    let other_port = format!("http://127.0.0.1:{}", port.wrapping_add(1).max(1));
    let elsewhere = Served::start(&["--allow-outbound", &other_port], &service());
    assert_eq!(get(&elsewhere, &target).body, "HTTP-request-denied");
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "a denied request reached the upstream"
    );
    let rule = format!("http://127.0.0.1:{port}");
    let allowed = Served::start(&["--allow-outbound", &rule], &service());
    let reply = get(&allowed, &target);
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, "upstream says hi")
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

/// Whether `listener` has a connection waiting (and takes it).
fn connected_to(listener: &std::net::TcpListener) -> bool {
    listener.set_nonblocking(true).expect("nonblocking");
    listener.accept().is_ok()
}

#[test]
fn a_socket_connect_is_denied_unless_a_rule_allows_it() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    let target = format!("/connect?127.0.0.1:{port}");
    let none = Served::start(&[], &service());
    let reply = get(&none, &target);
    assert_eq!((reply.status, reply.body.as_str()), (403, "access-denied"));
    assert!(
        !connected_to(&listener),
        "a denied connect reached the listener"
    );
    let rule = format!("tcp://127.0.0.1:{port}");
    let allowed = Served::start(&["--allow-outbound", &rule], &service());
    assert_eq!(get(&allowed, &target).body, "connected");
    assert!(
        connected_to(&listener),
        "the allowed connect did not arrive"
    );
    let other = format!("/connect?127.0.0.1:{}", port.wrapping_add(1).max(1));
    assert_eq!(get(&allowed, &other).body, "access-denied");
    // An HTTP rule does not open raw sockets.
    let http_only = Served::start(
        &["--allow-outbound", &format!("http://127.0.0.1:{port}")],
        &service(),
    );
    assert_eq!(get(&http_only, &target).body, "access-denied");
    assert!(
        !connected_to(&listener),
        "a denied connect reached the listener"
    );
}
