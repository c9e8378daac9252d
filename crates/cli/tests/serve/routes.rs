//! What a served component answers, and what it sees.

use std::path::Path;

use crate::common;
use crate::server::{Served, curl, get, service};

#[test]
fn the_readme_example_answers_with_its_greeting() {
    let example =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/http-hello/hello.wasm");
    let served = Served::start(&[], &example);
    let reply = get(&served, "/");
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(
        reply.body,
        "Hello from a WebAssembly service, run by wharf!\n"
    );
    assert!(
        reply
            .headers
            .to_ascii_lowercase()
            .contains("content-type: text/plain"),
        "{}",
        reply.headers
    );
}

#[test]
fn routes_answer_with_their_statuses_over_one_keep_alive_connection() {
    let served = Served::start(&[], &service());
    assert_eq!(get(&served, "/").body, "hello");
    assert_eq!(get(&served, "/no-such-route").status, 404);
    let first = served.stderr().lines().next().map(str::to_owned);
    assert_eq!(first, Some(format!("Serving HTTP on {}/", served.base)));
    // Two URLs in one curl: the second reuses the connection.
    let output = std::process::Command::new("curl")
        .args(["-sS", "-v", "-o", "/dev/null", "-o", "/dev/null"])
        .arg(served.url("/"))
        .arg(served.url("/"))
        .output()
        .expect("curl");
    let verbose = String::from_utf8_lossy(&output.stderr);
    assert!(
        verbose.contains("Re-using existing connection") || verbose.contains("Reusing existing"),
        "{verbose}"
    );
}

#[test]
fn a_one_mebibyte_body_is_echoed_intact() {
    let served = Served::start(&[], &service());
    let dir = common::temp();
    let body: String = (0..(1 << 20))
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let file = dir.path().join("body");
    std::fs::write(&file, &body).expect("write the body");
    let reply = curl(
        &served.url("/echo"),
        &["--data-binary", &format!("@{}", file.display())],
    );
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body.len(), body.len());
    assert!(reply.body == body, "the echoed body differs");
}

#[test]
fn each_request_sees_its_env_and_read_only_volume_and_nothing_of_the_host() {
    let dir = common::temp();
    std::fs::write(dir.path().join("note.txt"), "from the volume").expect("write");
    let volume = format!("{}:/data:ro", dir.path().display());
    let served = Served::start(&["-e", "GREETING=hi there", "-v", &volume], &service());
    for _ in 0..2 {
        assert_eq!(get(&served, "/env?GREETING").body, "hi there");
        assert_eq!(get(&served, "/read?/data/note.txt").body, "from the volume");
    }
    assert_eq!(
        get(&served, "/env?WHARF_HOST_CANARY").status,
        404,
        "the host's environment leaked"
    );
    assert_eq!(get(&served, "/env?PATH").status, 404);
    assert_eq!(
        get(&served, "/read?/etc/passwd").status,
        404,
        "a host file was reachable"
    );
    assert_eq!(get(&served, "/read?/data/../../etc/passwd").status, 404);
    let write = get(&served, "/write?/data/new.txt");
    assert_eq!(write.status, 403, "{write:?}");
    assert!(
        !dir.path().join("new.txt").exists(),
        "a read-only volume was written"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("note.txt")).expect("read"),
        "from the volume"
    );
}

#[test]
fn a_writable_volume_takes_writes() {
    let dir = common::temp();
    let volume = format!("{}:/data", dir.path().display());
    let served = Served::start(&["-v", &volume], &service());
    assert_eq!(get(&served, "/write?/data/new.txt").status, 201);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("new.txt")).expect("written"),
        "written by the guest\n"
    );
}

#[test]
fn the_guests_output_reaches_wharfs_stdout_and_stderr() {
    let mut served = Served::start(&[], &service());
    assert_eq!(get(&served, "/print?marker-1").status, 200);
    served.signal(libc::SIGTERM);
    let (status, stdout) = served.wait(std::time::Duration::from_secs(30));
    assert!(status.success(), "{status:?}");
    assert!(stdout.contains("stdout: marker-1\n"), "stdout: {stdout}");
    assert!(
        served.stderr().contains("stderr: marker-1\n"),
        "stderr: {}",
        served.stderr()
    );
}

#[test]
fn a_service_run_without_a_published_port_says_what_to_do() {
    let root = common::temp();
    let output = common::run(root.path(), &[common::path_str(&service())]);
    common::assert_code(&output, 125);
    let stderr = common::stderr(&output);
    assert!(
        stderr.contains("is an HTTP service") && stderr.contains("-p 8080:8080"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn publishing_a_command_is_refused() {
    let root = common::temp();
    let program = common::wat_guest("exit42");
    let output = common::run(
        root.path(),
        &["-p", "127.0.0.1:0:8080", common::path_str(&program)],
    );
    common::assert_code(&output, 125);
    assert!(
        common::stderr(&output).contains("is not an HTTP service"),
        "{}",
        common::stderr(&output)
    );
}

#[test]
fn a_port_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("address").port();
    let root = common::temp();
    let published = format!("127.0.0.1:{port}:8080");
    let output = common::run(
        root.path(),
        &["-p", &published, common::path_str(&service())],
    );
    common::assert_code(&output, 125);
    let stderr = common::stderr(&output);
    assert!(
        stderr.contains(&format!(
            "cannot publish port 127.0.0.1:{port}: address already in use"
        )),
        "{stderr}"
    );
}

#[test]
fn malformed_published_ports_and_rules_are_refused() {
    let root = common::temp();
    for flags in [
        ["-p", "8080"],
        ["-p", "127.0.0.1:80:80/udp"],
        ["--allow-outbound", "example.com"],
        ["--allow-outbound", "tcp://db"],
        ["--max-concurrency", "0"],
    ] {
        let mut args = flags.to_vec();
        let program = service();
        args.push(common::path_str(&program));
        let output = common::run(root.path(), &args);
        common::assert_code(&output, 125);
        assert!(
            common::stderr(&output).contains("invalid value"),
            "{flags:?}: {}",
            common::stderr(&output)
        );
    }
}

#[test]
fn a_component_built_against_an_older_0_2_release_is_served() {
    // The example's imports and export renamed from wasi:http@0.2.12 (what
    // wharf serves) to 0.2.10: same length, so the binary stays valid.
    let example =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/http-hello/hello.wasm");
    let bytes = std::fs::read(&example).expect("read the example");
    let (from, to) = (b"@0.2.12", b"@0.2.10");
    let mut renamed = bytes.clone();
    let mut count = 0;
    for i in 0..renamed.len().saturating_sub(from.len()) {
        if &renamed[i..i + from.len()] == from {
            renamed[i..i + from.len()].copy_from_slice(to);
            count += 1;
        }
    }
    assert!(count >= 3, "only {count} names renamed");
    let dir = common::temp();
    let older = dir.path().join("hello-0.2.10.wasm");
    std::fs::write(&older, renamed).expect("write");
    let served = Served::start(&[], &older);
    assert_eq!(
        get(&served, "/").body,
        "Hello from a WebAssembly service, run by wharf!\n"
    );
}

#[test]
fn a_service_takes_no_run_timeout() {
    let root = common::temp();
    let program = service();
    let output = common::run(
        root.path(),
        &[
            "-p",
            "127.0.0.1:0:8080",
            "--timeout",
            "1s",
            common::path_str(&program),
        ],
    );
    common::assert_code(&output, 125);
    assert!(
        common::stderr(&output).contains("--request-timeout"),
        "{}",
        common::stderr(&output)
    );
}

#[test]
fn a_services_volume_swapped_while_it_serves_is_still_the_directory_it_opened() {
    let work = common::temp();
    let data = work.path().join("data");
    let elsewhere = work.path().join("elsewhere");
    for (dir, text) in [(&data, "original"), (&elsewhere, "elsewhere")] {
        std::fs::create_dir(dir).expect("dir");
        std::fs::write(dir.join("file"), text).expect("file");
    }
    let mount = format!("{}:/data:ro", common::path_str(&data));
    let served = Served::start(&["-v", &mount], &service());
    assert_eq!(get(&served, "/read?/data/file").body, "original");
    // Its host name now leads elsewhere: each request still gets the
    // directory the service opened.
    std::fs::rename(&data, work.path().join("moved")).expect("move");
    std::os::unix::fs::symlink(&elsewhere, &data).expect("link");
    for _ in 0..3 {
        assert_eq!(get(&served, "/read?/data/file").body, "original");
    }
}
