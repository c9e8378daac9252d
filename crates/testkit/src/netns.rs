//! A network namespace of the test's own (`ip netns add`), loopback up,
//! with its own `/etc/resolv.conf` for the processes it runs (iproute2's
//! `ip netns exec` binds `/etc/netns/NAME/*` over `/etc`); deleted with
//! that file on drop. Needs root.

use std::path::PathBuf;
use std::process::Command;

/// A network namespace; see the module docs.
#[derive(Debug)]
pub struct TestNetns {
    name: String,
}

impl TestNetns {
    /// Makes namespace `NAME-PID` with loopback up; `nameserver`, when
    /// given, is the only resolver its processes see.
    ///
    /// # Panics
    /// When `ip` fails (not root, no iproute2).
    pub fn new(name: &str, nameserver: Option<&str>) -> TestNetns {
        let name = format!("{name}-{}", std::process::id());
        let _ = Command::new("ip").args(["netns", "delete", &name]).status();
        run_ok(&["ip", "netns", "add", &name]);
        let netns = TestNetns { name };
        run_ok(&["ip", "-n", &netns.name, "link", "set", "lo", "up"]);
        if let Some(server) = nameserver {
            std::fs::create_dir_all(netns.etc()).expect("/etc/netns/NAME");
            std::fs::write(
                netns.etc().join("resolv.conf"),
                format!("nameserver {server}\noptions timeout:1 attempts:1\n"),
            )
            .expect("resolv.conf");
        }
        netns
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `program ARGS...` to run inside the namespace.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name]).arg(program);
        command
    }

    fn etc(&self) -> PathBuf {
        PathBuf::from("/etc/netns").join(&self.name)
    }
}

impl Drop for TestNetns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.name])
            .status();
        let _ = std::fs::remove_dir_all(self.etc());
    }
}

fn run_ok(args: &[&str]) {
    let status = Command::new(args[0])
        .args(&args[1..])
        .status()
        .expect(args[0]);
    assert!(status.success(), "{args:?} failed");
}
