//! HTTP services under containerd: served inside the container's network
//! namespace (one the test makes with `ip netns add`), never on the
//! node's, and drained on SIGTERM.

#[macro_use]
#[path = "support/common.rs"]
mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::Harness;

const GREETING: &str = "Hello from a WebAssembly service, run by wharf!\n";

/// A network namespace of the test's own, loopback up; deleted on drop.
struct NetNs(String);

impl NetNs {
    fn new(name: &str) -> NetNs {
        let _ = Command::new("ip").args(["netns", "delete", name]).status();
        run_ok(&["ip", "netns", "add", name]);
        run_ok(&["ip", "-n", name, "link", "set", "lo", "up"]);
        NetNs(name.to_owned())
    }

    fn path(&self) -> String {
        format!("/var/run/netns/{}", self.0)
    }

    /// The body of `GET url` from inside the namespace, if it answers.
    fn get(&self, url: &str) -> Option<String> {
        let output = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.0,
                "curl",
                "-s",
                "--max-time",
                "2",
                url,
            ])
            .output()
            .expect("ip netns exec curl");
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.0])
            .status();
    }
}

fn run_ok(args: &[&str]) {
    let status = Command::new(args[0])
        .args(&args[1..])
        .status()
        .expect(args[0]);
    assert!(status.success(), "{args:?} failed");
}

/// Polls `ns` for the greeting on `url` for up to 20 s.
fn served(ns: &NetNs, url: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if ns.get(url).as_deref() == Some(GREETING) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn a_service_is_served_in_its_network_namespace_and_not_on_the_node() {
    let harness = harness!("a_service_is_served_in_its_network_namespace_and_not_on_the_node");
    let ns = NetNs::new(&format!("wharf-svc-{}", std::process::id()));
    let with_ns = format!("network:{}", ns.path());
    harness.run_wasm_detached(
        &["--with-ns", &with_ns, "--env", "WHARF_HTTP_PORT=18080"],
        "web1",
        &["/http.wasm"],
    );
    harness.wait_for_status("web1", "RUNNING", Duration::from_secs(15));
    assert!(
        served(&ns, "http://127.0.0.1:18080/"),
        "not served in the namespace\n{}",
        harness.log()
    );
    let on_node = Command::new("curl")
        .args(["-s", "--max-time", "2", "http://127.0.0.1:18080/"])
        .output()
        .expect("curl");
    assert!(
        !String::from_utf8_lossy(&on_node.stdout).contains("WebAssembly service"),
        "served on the node's network"
    );
    // SIGTERM drains and the service exits 0 (ctr warns of non-zero codes).
    let warned = harness.kill_and_delete("web1", "SIGTERM");
    assert!(!warned.contains("non-zero exit code"), "{warned}");
    assert!(
        ns.get("http://127.0.0.1:18080/").is_none(),
        "still served after delete"
    );
    harness.assert_no_containers();
}

#[test]
fn twenty_served_containers_share_one_shim() {
    let harness = harness!("twenty_served_containers_share_one_shim");
    let ns = NetNs::new(&format!("wharf-svc20-{}", std::process::id()));
    let with_ns = format!("network:{}", ns.path());
    let ids: Vec<String> = (0..20).map(|i| format!("svc{i}")).collect();
    for (i, id) in ids.iter().enumerate() {
        let port = format!("WHARF_HTTP_PORT={}", 18100 + i);
        harness.run_wasm_detached(
            &["--with-ns", &with_ns, "--env", &port],
            id,
            &["/http.wasm"],
        );
    }
    for (i, id) in ids.iter().enumerate() {
        harness.wait_for_status(id, "RUNNING", Duration::from_secs(30));
        assert!(
            served(&ns, &format!("http://127.0.0.1:{}/", 18100 + i)),
            "{id} not served\n{}",
            harness.log()
        );
    }
    let shims = harness.containerd.shim_pids();
    assert_eq!(shims.len(), 1, "one daemon serves them all: {shims:?}");
    for id in &ids {
        harness.kill_and_delete(id, "SIGTERM");
    }
    harness.assert_no_containers();
}
