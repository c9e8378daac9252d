//! `wharf run -d -p`: a service under its supervisor.

use std::path::Path;
use std::time::Duration;

use crate::common;
use crate::server::{curl, service};

fn wharf(root: &Path, args: &[&str]) -> std::process::Output {
    common::wharf(root)
        .args(args)
        .output()
        .expect("spawn wharf")
}

fn text(output: &std::process::Output) -> String {
    common::stdout(output)
}

#[test]
fn a_detached_service_is_published_listed_logged_and_drained_by_stop() {
    let root = common::state_root();
    let root = root.path();
    let program = service();
    let started = wharf(
        root,
        &[
            "run",
            "-d",
            "--name",
            "web",
            "-p",
            "127.0.0.1:0:8080",
            common::path_str(&program),
        ],
    );
    common::assert_code(&started, 0);
    let port = wharf(root, &["port", "web"]);
    common::assert_code(&port, 0);
    let line = text(&port);
    let address = line
        .trim()
        .strip_prefix("8080/tcp -> ")
        .unwrap_or_else(|| panic!("wharf port: {line}"))
        .to_owned();
    assert!(
        address.starts_with("127.0.0.1:") && !address.ends_with(":0"),
        "{address}"
    );
    let base = format!("http://{address}");
    assert_eq!(curl(&format!("{base}/"), &[]).body, "hello");

    let ps = text(&wharf(root, &["ps"]));
    assert!(ps.contains(&format!("{address}->8080/tcp")), "{ps}");
    assert!(
        ps.lines()
            .next()
            .is_some_and(|header| header.contains("PORTS")),
        "{ps}"
    );

    assert_eq!(curl(&format!("{base}/print?logged-line"), &[]).status, 200);
    let logs = wharf(root, &["logs", "web"]);
    let all = format!("{}{}", text(&logs), common::stderr(&logs));
    assert!(
        all.contains("stdout: logged-line") && all.contains("stderr: logged-line"),
        "{all}"
    );

    std::thread::sleep(Duration::from_millis(700));
    let stats = text(&wharf(root, &["stats", "--no-stream", "web"]));
    assert!(
        stats
            .lines()
            .next()
            .is_some_and(|h| h.trim_end().ends_with("REQUESTS")),
        "{stats}"
    );
    let served: u64 = stats
        .lines()
        .nth(1)
        .and_then(|row| row.split_whitespace().last())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{stats}"));
    assert!(served >= 2, "{stats}");

    let slow = {
        let url = format!("{base}/sleep?1500");
        std::thread::spawn(move || curl(&url, &[]))
    };
    std::thread::sleep(Duration::from_millis(500));
    common::assert_code(&wharf(root, &["stop", "web"]), 0);
    let reply = slow.join().expect("in-flight request");
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, "slept"),
        "stop cut the in-flight request"
    );
    let ps = text(&wharf(root, &["ps", "-a"]));
    assert!(ps.contains("Exited (0)"), "{ps}");
    assert!(
        !ps.contains("->8080/tcp"),
        "a stopped container shows no ports: {ps}"
    );
    std::net::TcpListener::bind(&address).expect("the port is free after stop");
}

#[test]
fn a_port_in_use_fails_run_d_and_leaves_no_container() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let published = format!(
        "127.0.0.1:{}:8080",
        taken.local_addr().expect("address").port()
    );
    let root = common::state_root();
    let program = service();
    let output = wharf(
        root.path(),
        &["run", "-d", "-p", &published, common::path_str(&program)],
    );
    common::assert_code(&output, 125);
    assert!(
        common::stderr(&output).contains("address already in use"),
        "{}",
        common::stderr(&output)
    );
    let ps = text(&wharf(root.path(), &["ps", "-a", "-q"]));
    assert!(ps.trim().is_empty(), "a container was left: {ps}");
}

#[test]
fn publishing_a_detached_command_fails_at_run_d() {
    let root = common::state_root();
    let program = common::wat_guest("exit42");
    let output = wharf(
        root.path(),
        &[
            "run",
            "-d",
            "-p",
            "127.0.0.1:0:8080",
            common::path_str(&program),
        ],
    );
    common::assert_code(&output, 125);
    assert!(
        common::stderr(&output).contains("is not an HTTP service"),
        "{}",
        common::stderr(&output)
    );
}
