//! Name lookups under the network policy, against a real resolver
//! (dnsmasq) in a network namespace of the test's own: a guest looks up
//! only names a rule names, and the resolver never hears of another.

use std::io::BufRead as _;
use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use wharf_testkit::TestNetns;

use crate::common::*;

/// dnsmasq on 127.0.0.1:53 of `netns`, answering `allowed.test` (and
/// names under `wild.test`) with 127.0.0.1 and nothing else, every query
/// logged to `log`.
fn resolver(netns: &TestNetns, log: &Path) -> Child {
    let dns = netns
        .command("dnsmasq")
        .args([
            "--keep-in-foreground",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
            "--listen-address=127.0.0.1",
            "--bind-interfaces",
            "--user=root",
            "--pid-file=",
            "--host-record=allowed.test,127.0.0.1",
            "--address=/wild.test/127.0.0.1",
            "--log-queries",
        ])
        .arg(format!("--log-facility={}", log.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("dnsmasq (Debian's dnsmasq-base)");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(log).is_ok_and(|text| text.contains("started")) {
        assert!(Instant::now() < deadline, "dnsmasq did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    dns
}

/// `wharf run FLAGS tcp-connect TARGET` inside `netns`.
fn connect(netns: &TestNetns, root: &Path, flags: &[&str], target: &str) -> Output {
    let program = bindgen_component("tcp-connect", "main.c", "tcp_connect");
    netns
        .command(env!("CARGO_BIN_EXE_wharf"))
        .env("WHARF_ROOT", root)
        .arg("run")
        .args(flags)
        .arg(path_str(&program))
        .arg(target)
        .stdin(Stdio::null())
        .output()
        .expect("ip netns exec wharf")
}

#[test]
fn a_guest_looks_up_only_names_its_rules_name_and_connects_by_one() {
    if wharf_testkit::skip_unless_root(
        "a_guest_looks_up_only_names_its_rules_name",
        "for a network namespace",
    ) {
        return;
    }
    let (root, work) = (temp(), temp());
    let netns = TestNetns::new("wharf-names", Some("127.0.0.1"));
    let log = work.path().join("queries.log");
    let mut dns = resolver(&netns, &log);
    // A listener in the namespace: the guest itself, told where to listen.
    let port = 7411;
    let at = format!("127.0.0.1:{port}");
    let allow_listen = format!("tcp://{at}");
    let program = bindgen_component("tcp-connect", "main.c", "tcp_connect");
    let mut listener = netns
        .command(env!("CARGO_BIN_EXE_wharf"))
        .env("WHARF_ROOT", root.path())
        .args([
            "run",
            "--allow-listen",
            &allow_listen,
            path_str(&program),
            "--listen",
            &at,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the listening guest");
    let mut said = std::io::BufReader::new(listener.stdout.take().expect("stdout"));
    let mut line = String::new();
    said.read_line(&mut line).expect("listening");
    assert_eq!(line, "listening\n");

    // An address rule allows no lookup; a name rule allows its name only.
    let secret = format!("secret.attacker.example:{port}");
    let denied = connect(
        &netns,
        root.path(),
        &["--allow-outbound", "tcp://10.0.0.5:5432"],
        &secret,
    );
    assert_eq!(stdout(&denied), "access-denied\n", "{}", stderr(&denied));
    let rule = format!("tcp://allowed.test:{port}");
    let other = connect(
        &netns,
        root.path(),
        &["--allow-outbound", &rule],
        &format!("other.test:{port}"),
    );
    assert_eq!(stdout(&other), "access-denied\n", "{}", stderr(&other));
    let wildcard = connect(
        &netns,
        root.path(),
        &["--allow-outbound", "tcp://*.wild.test:1-2"],
        &format!("a.wild.test:{port}"),
    );
    assert_eq!(
        stdout(&wildcard),
        "access-denied\n",
        "resolved, but the port is not the rule's"
    );

    // The name the rule names resolves through the namespace's resolver,
    // and the guest connects to the address it got.
    let allowed = connect(
        &netns,
        root.path(),
        &["--allow-outbound", &rule],
        &format!("allowed.test:{port}"),
    );
    assert_code(&allowed, 0);
    assert_eq!(stdout(&allowed), "connected\n");
    line.clear();
    said.read_line(&mut line).expect("accepted");
    assert_eq!(line, "accepted\n");
    let _ = listener.wait();

    let _ = dns.kill();
    let _ = dns.wait();
    let queries = std::fs::read_to_string(&log).expect("the resolver's log");
    assert!(queries.contains("allowed.test"), "{queries}");
    assert!(queries.contains("a.wild.test"), "{queries}");
    for never in ["secret.attacker.example", "other.test"] {
        assert!(
            !queries.contains(never),
            "the resolver was asked for {never}:\n{queries}"
        );
    }
}
