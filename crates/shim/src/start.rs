//! `start`: hand containerd the address of the daemon for this container,
//! starting one when its group has none.

use std::fs;
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::args::Args;
use crate::group;

pub fn start(args: &Args) -> Result<(), String> {
    let bundle = args.bundle()?;
    let socket = group::socket_path(args, &group::group_of(&bundle));
    let address = format!("unix://{}", socket.display());
    {
        let lock = group::lock(&socket)?;
        lock.claim();
        if !serving(&socket) {
            let _ = fs::remove_file(&socket);
            spawn_daemon(args, &socket)?;
            wait_for(&socket)?;
        }
    }
    // containerd reads the address back from the bundle after a restart.
    fs::write(bundle.join("address"), &address)
        .map_err(|e| format!("{}: {e}", bundle.join("address").display()))?;
    print!("{address}");
    Ok(())
}

fn spawn_daemon(args: &Args, socket: &std::path::Path) -> Result<(), String> {
    let me = std::env::current_exe().map_err(|e| format!("own path: {e}"))?;
    let mut command = Command::new(me);
    command
        .args(["-namespace", &args.namespace, "-address", &args.address])
        .args(["-publish-binary", &args.publish_binary, "-id", &args.id])
        .arg("-socket")
        .arg(socket)
        .arg("serve")
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if args.debug {
        command.arg("-debug");
    }
    // SAFETY: setsid is async-signal-safe; the daemon leaves containerd's
    // session so that it outlives this process and containerd restarts.
    unsafe {
        use std::os::unix::process::CommandExt;
        command.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    command
        .spawn()
        .map(drop)
        .map_err(|e| format!("cannot start the shim daemon: {e}"))
}

/// Whether a daemon listens on `socket` (a full backlog still means yes).
fn serving(socket: &std::path::Path) -> bool {
    match UnixStream::connect(socket) {
        Ok(_) => true,
        Err(error) => error.kind() == std::io::ErrorKind::WouldBlock,
    }
}

fn wait_for(socket: &std::path::Path) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if serving(socket) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Err(format!(
        "the shim daemon did not listen on {}",
        socket.display()
    ))
}
