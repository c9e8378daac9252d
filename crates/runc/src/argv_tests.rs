use super::*;

fn parse(args: &[&str]) -> Invocation {
    Invocation::parse(args.iter().map(OsString::from).collect(), None)
}

fn strings(args: &[OsString]) -> Vec<&str> {
    args.iter().map(|a| a.to_str().expect("utf-8")).collect()
}

#[test]
fn go_runc_argv_of_docker_passes_through_unchanged() {
    let argv = [
        "--root",
        "/run/docker/runtime-runc/moby",
        "--log",
        "/run/x/log.json",
        "--log-format",
        "json",
        "--systemd-cgroup",
        "create",
        "--bundle",
        "/run/x/bundle",
        "--pid-file",
        "/run/x/init.pid",
        "--console-socket",
        "/tmp/pty.sock",
        "abc",
    ];
    let invocation = parse(&argv);
    assert_eq!(strings(&invocation.runc_args), argv);
    assert_eq!(invocation.command.as_deref(), Some("create"));
    assert_eq!(invocation.log, Some(PathBuf::from("/run/x/log.json")));
    assert!(invocation.log_json);
    assert_eq!(invocation.bundle(), Some(PathBuf::from("/run/x/bundle")));
    assert_eq!(invocation.runc, PathBuf::from(DEFAULT_RUNC));
}

#[test]
fn equals_forms_and_single_dashes_are_read() {
    let invocation = parse(&[
        "-root=/r",
        "--log=/l",
        "--log-format=json",
        "--rootless=false",
        "--debug",
        "create",
        "-b=/b",
        "--no-pivot",
        "id",
    ]);
    assert_eq!(invocation.log, Some(PathBuf::from("/l")));
    assert!(invocation.log_json);
    assert_eq!(invocation.bundle(), Some(PathBuf::from("/b")));
    assert_eq!(invocation.command_args, ["-b=/b", "--no-pivot", "id"]);
    let invocation = parse(&["create", "--pid-file", "/p", "-b", "/b2", "id"]);
    assert_eq!(invocation.bundle(), Some(PathBuf::from("/b2")));
}

#[test]
fn wharf_flags_are_taken_out() {
    let invocation = parse(&[
        "--runc",
        "/opt/runc",
        "--wharf-root=/var/lib/w",
        "--root",
        "/r",
        "state",
        "id",
    ]);
    assert_eq!(
        strings(&invocation.runc_args),
        ["--root", "/r", "state", "id"]
    );
    assert_eq!(invocation.runc, PathBuf::from("/opt/runc"));
    assert_eq!(invocation.wharf_root, Some(PathBuf::from("/var/lib/w")));
}

#[test]
fn the_environment_names_runc_when_no_flag_does() {
    let invocation = Invocation::parse(
        vec![OsString::from("state"), OsString::from("x")],
        Some(OsString::from("/usr/bin/runc")),
    );
    assert_eq!(invocation.runc, PathBuf::from("/usr/bin/runc"));
    let flagged = Invocation::parse(
        vec![OsString::from("--runc=/a"), OsString::from("state")],
        Some(OsString::from("/b")),
    );
    assert_eq!(flagged.runc, PathBuf::from("/a"));
}

#[test]
fn version_and_no_command() {
    let invocation = parse(&["--version"]);
    assert!(invocation.version);
    assert_eq!(invocation.command, None);
    assert!(parse(&["-v"]).version);
    // A flag of the command is not the global one.
    let kill = parse(&["kill", "--all", "id", "KILL"]);
    assert!(!kill.version);
    assert_eq!(kill.command_args, ["--all", "id", "KILL"]);
}

#[test]
fn arguments_that_are_not_utf8_pass_through() {
    use std::os::unix::ffi::OsStringExt as _;
    let odd = OsString::from_vec(vec![b'i', 0xff, b'd']);
    let invocation = Invocation::parse(vec![OsString::from("delete"), odd.clone()], None);
    assert_eq!(invocation.runc_args, [OsString::from("delete"), odd]);
}

#[test]
fn the_last_bundle_wins_and_a_bare_double_dash_ends_the_globals() {
    let invocation = parse(&["create", "-b", "/first", "--bundle=/last", "id"]);
    assert_eq!(invocation.bundle(), Some(PathBuf::from("/last")));
    let invocation = parse(&["--root", "/r", "--", "create", "--bundle", "/b", "id"]);
    assert_eq!(invocation.command.as_deref(), Some("create"));
    assert_eq!(invocation.bundle(), Some(PathBuf::from("/b")));
    assert_eq!(
        strings(&invocation.runc_args),
        ["--root", "/r", "--", "create", "--bundle", "/b", "id"]
    );
    // An empty --runc leaves the default.
    assert_eq!(
        parse(&["--runc=", "state"]).runc,
        PathBuf::from(DEFAULT_RUNC)
    );
}
