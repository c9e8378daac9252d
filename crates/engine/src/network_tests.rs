use super::*;

fn policy(rules: &[&str]) -> NetworkPolicy {
    NetworkPolicy::new(rules.iter().map(|r| r.parse().expect(r)).collect())
}

#[test]
fn spins_syntax_parses_and_prints_back() {
    for rule in [
        "http://example.com:80",
        "https://*.example.com:443",
        "tcp://127.0.0.1:5432",
        "*://host:*",
        "http://[::1]:8000-8080",
        "*://*:*",
    ] {
        assert_eq!(rule.parse::<OutboundRule>().expect(rule).to_string(), rule);
    }
    assert_eq!(
        "https://example.com"
            .parse::<OutboundRule>()
            .expect("default port")
            .to_string(),
        "https://example.com:443"
    );
}

#[test]
fn malformed_rules_are_refused() {
    for rule in [
        "example.com",
        "ftp://example.com:21",
        "tcp://db.local",
        "http://exa mple.com",
        "http://example.com:99999",
        "http://example.com:9-1",
        "http://example.com/path",
        "http://user@example.com",
        "http://[::1",
        "http://*example.com",
        "http://",
    ] {
        assert!(rule.parse::<OutboundRule>().is_err(), "{rule}");
    }
}

#[test]
fn nothing_is_allowed_by_default() {
    let none = NetworkPolicy::default();
    assert!(none.denies_all());
    assert!(!none.allows("http", Destination::Name("example.com"), 80));
}

#[test]
fn rules_match_scheme_host_and_port() {
    let p = policy(&[
        "http://example.com:8080",
        "https://*.example.org",
        "tcp://127.0.0.1:5432",
    ]);
    assert!(p.allows("http", Destination::Name("EXAMPLE.com"), 8080));
    assert!(!p.allows("http", Destination::Name("example.com"), 80));
    assert!(!p.allows("https", Destination::Name("example.com"), 8080));
    assert!(p.allows("https", Destination::Name("api.example.org"), 443));
    assert!(!p.allows("https", Destination::Name("example.org"), 443));
    assert!(!p.allows("https", Destination::Name("evil-example.org"), 443));
    assert!(p.allows(
        "tcp",
        Destination::Ip("127.0.0.1".parse().expect("ip")),
        5432
    ));
    assert!(!p.allows(
        "tcp",
        Destination::Ip("127.0.0.2".parse().expect("ip")),
        5432
    ));
    assert!(!p.allows(
        "udp",
        Destination::Ip("127.0.0.1".parse().expect("ip")),
        5432
    ));
    assert!(p.allows_scheme("tcp") && !p.allows_scheme("udp"));
}

#[test]
fn listen_rules_name_tcp_or_udp_at_an_address() {
    for rule in ["tcp://127.0.0.1:8000-8100", "udp://[::1]:5353", "tcp://*:*"] {
        assert_eq!(OutboundRule::listen(rule).expect(rule).to_string(), rule);
    }
    for (rule, reason) in [
        ("http://127.0.0.1:80", "scheme is tcp or udp"),
        ("*://127.0.0.1:80", "scheme is tcp or udp"),
        ("tcp://localhost:80", "not a host name"),
        ("tcp://*.example.com:80", "not a host name"),
        ("tcp://127.0.0.1", "needs a port"),
    ] {
        let error = OutboundRule::listen(rule).expect_err(rule).to_string();
        assert!(error.contains(reason), "{rule}: {error}");
    }
}

#[test]
fn kernel_ports_are_the_tcp_ports_the_rules_name() {
    let listen = |rules: &[&str]| {
        rules
            .iter()
            .map(|r| OutboundRule::listen(r).expect(r))
            .collect::<Vec<_>>()
    };
    let none = tcp_ports(&NetworkPolicy::default()).expect("no rules: no ports");
    assert_eq!((none.connect, none.bind), (vec![], vec![0]));
    let some = policy(&[
        "http://example.com:8080",
        "tcp://127.0.0.1:5432",
        "udp://127.0.0.1:53",
    ])
    .with_listen(listen(&["tcp://127.0.0.1:9000-9001", "udp://*:5353"]));
    let ports = tcp_ports(&some).expect("ports");
    assert_eq!(ports.connect, vec![5432, 8080], "UDP is not TCP");
    assert_eq!(ports.bind, vec![0, 9000, 9001]);
    // Any port, or too many to list: the kernel rule is left off.
    assert_eq!(tcp_ports(&policy(&["tcp://127.0.0.1:*"])), None);
    assert_eq!(tcp_ports(&policy(&["tcp://127.0.0.1:1000-2000"])), None);
    assert!(tcp_ports(&policy(&["udp://127.0.0.1:*"])).is_some());
}

#[test]
fn binds_are_allowed_only_where_a_listen_rule_says() {
    let addr = |text: &str| text.parse::<SocketAddr>().expect(text);
    let outbound = policy(&["tcp://127.0.0.1:5432"]);
    // A connect's implicit bind, and nothing else.
    assert!(outbound.allows_bind("tcp", addr("0.0.0.0:0")));
    assert!(!outbound.allows_bind("tcp", addr("127.0.0.1:8080")));
    assert!(!outbound.allows_bind("udp", addr("0.0.0.0:0")));
    assert!(!outbound.allows_listen("tcp", addr("0.0.0.0:0")));
    let listen = |rules: &[&str]| {
        NetworkPolicy::default().with_listen(
            rules
                .iter()
                .map(|r| OutboundRule::listen(r).expect(r))
                .collect(),
        )
    };
    let loopback = listen(&["tcp://127.0.0.1:8000-8100"]);
    assert!(loopback.allows_listen("tcp", addr("127.0.0.1:8080")));
    assert!(!loopback.allows_listen("tcp", addr("127.0.0.1:8101")));
    assert!(!loopback.allows_listen("tcp", addr("0.0.0.0:8080")));
    assert!(!loopback.allows_listen("udp", addr("127.0.0.1:8080")));
    assert!(loopback.listens("tcp") && !loopback.listens("udp"));
    let anywhere = listen(&["udp://*:*"]);
    assert!(anywhere.allows_bind("udp", addr("0.0.0.0:5353")));
    assert!(anywhere.allows_bind("udp", addr("[::1]:5353")));
    assert!(!anywhere.allows_bind("tcp", addr("[::1]:5353")));
}

#[test]
fn a_wildcard_scheme_and_port_allow_every_one() {
    let p = policy(&["*://localhost:*"]);
    assert!(p.allows("tcp", Destination::Name("localhost"), 1));
    assert!(p.allows("https", Destination::Name("localhost."), 65535));
}

#[test]
fn socket_addresses_match_literal_rules_and_the_guests_own_lookups() {
    let p = policy(&["tcp://127.0.0.1:5432", "tcp://db.test:6000"]);
    let names = crate::resolved::ResolvedNames::default();
    let addr = |text: &str| text.parse::<SocketAddr>().expect("addr");
    assert!(p.allows_address("tcp", addr("127.0.0.1:5432"), &names));
    assert!(!p.allows_address("tcp", addr("127.0.0.1:5433"), &names));
    // A rule's name allows its address only once the guest looked the
    // name up itself: the host resolves nothing for the check.
    assert!(!p.allows_address("tcp", addr("10.1.2.3:6000"), &names));
    names.record("db.test", &["10.1.2.3".parse().expect("ip")]);
    assert!(p.allows_address("tcp", addr("10.1.2.3:6000"), &names));
    assert!(!p.allows_address("tcp", addr("10.1.2.3:6001"), &names));
    assert!(!p.allows_address("udp", addr("10.1.2.3:6000"), &names));
    assert!(!p.allows_address("tcp", addr("0.0.0.0:5432"), &names));
    let any = policy(&["tcp://*:*"]);
    assert!(!any.allows_address("tcp", addr("0.0.0.0:1"), &names));
}

#[test]
fn only_names_a_socket_rule_names_may_be_looked_up() {
    let p = policy(&[
        "tcp://10.0.0.5:5432",
        "tcp://db.test:5432",
        "udp://*.dns.test:53",
        "https://api.test",
    ]);
    assert!(p.allows_lookup("db.test"));
    assert!(p.allows_lookup("DB.test."));
    assert!(p.allows_lookup("a.dns.test"));
    assert!(
        !p.allows_lookup("dns.test"),
        "the wildcard is for names under it"
    );
    assert!(!p.allows_lookup("secret.attacker.example"));
    assert!(
        !p.allows_lookup("api.test"),
        "an HTTP rule is the host's to resolve"
    );
    assert!(!p.allows_lookup("10.0.0.5"), "an address is not looked up");
    assert!(!policy(&["tcp://10.0.0.5:5432"]).allows_lookup("db.test"));
    assert!(policy(&["tcp://*:5432"]).allows_lookup("anything.test"));
    assert!(!NetworkPolicy::default().allows_lookup("db.test"));
}
