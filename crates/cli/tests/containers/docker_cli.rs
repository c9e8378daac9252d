//! Docker's command line as a Docker user types it: management commands,
//! `version` and `info`, create/start/restart/rename, `ps`'s filters and
//! flags, labels, named volumes, `-t`, and the flags that cannot mean
//! anything for Wasm — with the exact output and exit codes compared.

use std::time::Duration;

use crate::common::{assert_code, c_guest, state_root, stderr, stdout, temp, wat_guest};
use crate::support::{detached, eventually, inspect, ok, wharf_output};

fn hello() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/hello.wat").to_owned()
}

#[test]
fn management_commands_are_the_short_forms_under_dockers_names() {
    let root = state_root();
    let root = root.path();
    let ticker = c_guest("ticker");
    detached(root, "web", &[], &ticker);
    for (short, managed) in [
        (vec!["ps"], vec!["container", "ls"]),
        (
            vec!["ps", "-a", "-q"],
            vec!["container", "list", "-a", "-q"],
        ),
        (vec!["ps", "-q"], vec!["container", "ps", "-q"]),
        (vec!["images"], vec!["image", "ls"]),
    ] {
        let (a, b) = (ok(root, &short), ok(root, &managed));
        // CREATED and STATUS may tick over between the two; compare the rest.
        let columns = |t: &str| -> Vec<String> {
            t.lines()
                .map(|l| l.split("  ").next().unwrap_or("").to_owned())
                .collect()
        };
        assert_eq!(columns(&a), columns(&b), "{short:?} vs {managed:?}");
    }
    assert_eq!(
        ok(
            root,
            &[
                "container",
                "inspect",
                "-f",
                "{{.Name}} {{.State.Status}}",
                "web"
            ]
        ),
        "/web running\n"
    );
    // `image inspect` looks only at images, `container inspect` only at
    // containers: each says which it did not find.
    let output = wharf_output(root, &["image", "inspect", "web"]);
    assert_code(&output, 125);
    let output = wharf_output(root, &["container", "inspect", "alpine"]);
    assert_code(&output, 125);
    assert_eq!(stderr(&output), "wharf: no such container: alpine\n");

    ok(root, &["container", "stop", "-t", "1", "web"]);
    assert_eq!(ok(root, &["container", "ls", "-q"]), "");
    assert_eq!(ok(root, &["container", "ls", "-aq"]).lines().count(), 1);
    // Prune asks first, as Docker's does; no answer (stdin is empty) is no.
    let asked = ok(root, &["container", "prune"]);
    assert!(asked.starts_with("WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] "), "{asked}");
    assert_eq!(
        ok(root, &["ps", "-aq"]).lines().count(),
        1,
        "nothing pruned unasked"
    );
    let pruned = ok(root, &["container", "prune", "-f"]);
    assert!(pruned.starts_with("Deleted Containers:\n"), "{pruned}");
    assert!(pruned.contains("Total reclaimed space: "), "{pruned}");
    assert_eq!(ok(root, &["ps", "-aq"]), "");
}

#[test]
fn version_and_info_name_the_engine_wasmtime_and_wasi() {
    let root = state_root();
    let root = root.path();
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.lock"))
        .expect("lock file");
    let wasmtime = lock
        .split("[[package]]")
        .find(|p| p.contains("\nname = \"wasmtime\"\n"))
        .and_then(|p| p.split("version = \"").nth(1))
        .and_then(|v| v.split('"').next())
        .expect("wasmtime in the lock file");
    assert_eq!(
        ok(
            root,
            &[
                "version",
                "--format",
                "{{.Client.Version}} {{.Server.Version}} {{.Client.Wasmtime}}"
            ]
        ),
        format!("{0} {0} {wasmtime}\n", env!("CARGO_PKG_VERSION"))
    );
    let json: serde_json::Value =
        serde_json::from_str(&ok(root, &["version", "--format", "json"])).expect("json");
    assert_eq!(
        json["Client"]["Wasi"],
        serde_json::json!(["preview1", "0.2", "0.3"])
    );
    let table = ok(root, &["version"]);
    assert!(table.starts_with("Client:\n Version:"), "{table}");
    assert!(
        table.contains(&format!("  Version:          {wasmtime}\n")),
        "{table}"
    );

    detached(root, "web", &[], &c_guest("ticker"));
    assert_eq!(
        ok(
            root,
            &[
                "info",
                "--format",
                "{{.Containers}} {{.ContainersRunning}} {{.Images}} {{.DockerRootDir}}"
            ]
        ),
        format!("1 1 0 {}\n", root.display())
    );
    assert_eq!(
        ok(root, &["system", "info", "-f", "{{.DefaultCompiler}}"]),
        "cranelift\n"
    );
    let info = ok(root, &["info"]);
    for line in [
        " Containers: 1\n",
        "  Running: 1\n",
        " Compilers: cranelift, winch, pulley (default cranelift)\n",
    ] {
        assert!(info.contains(line), "{line:?} in {info}");
    }
    let layers = ok(root, &["info", "-f", "{{.KernelLayers}}"]);
    assert!(layers.starts_with("no_new_privs"), "{layers}");
    let df = ok(root, &["system", "df"]);
    assert!(
        df.starts_with("TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE\n"),
        "{df}"
    );
    assert!(
        df.contains("\nContainers      1         1         "),
        "{df}"
    );
    // A template naming a field info lacks is an error, not an empty line.
    let output = wharf_output(root, &["info", "-f", "{{.NoSuchField}}"]);
    assert_code(&output, 125);
    ok(root, &["rm", "-f", "web"]);
}

#[test]
fn create_start_restart_and_rename_keep_the_policy_labels_and_output() {
    let root = state_root();
    let root = root.path();
    let hello = hello();
    let id = ok(
        root,
        &[
            "create",
            "--name",
            "greeter",
            "--label",
            "team=wasm",
            "-l",
            "tier",
            &hello,
        ],
    );
    let id = id.trim();
    assert_eq!(id.len(), 64, "create prints the full ID: {id}");
    assert_eq!(
        ok(
            root,
            &["ps", "-a", "--format", "{{.Names}} {{.State}} {{.Status}}"]
        ),
        "greeter created Created\n"
    );
    assert_eq!(
        ok(root, &["ps", "-q"]),
        "",
        "a created container is not running"
    );
    let details = inspect(root, "greeter");
    assert_eq!(
        details["Config"]["Labels"],
        serde_json::json!({"team": "wasm", "tier": ""})
    );
    assert_eq!(details["State"]["Status"], "created");

    // start -a: the guest's output here, and its exit code as ours.
    let started = wharf_output(root, &["start", "-a", "greeter"]);
    assert_code(&started, 0);
    assert_eq!(stdout(&started), "Hello from WebAssembly, run by wharf!\n");
    assert_eq!(inspect(root, "greeter")["State"]["Status"], "exited");
    // start again: a second run, output appended.
    assert_eq!(ok(root, &["start", "greeter"]), "greeter\n");
    eventually(Duration::from_secs(20), "the second run logged", || {
        ok(root, &["logs", "greeter"]).lines().count() == 2
    });
    assert_eq!(
        ok(root, &["container", "rename", "greeter", "welcomer"]),
        ""
    );
    assert_eq!(
        ok(root, &["ps", "-a", "--format", "{{.Names}}"]),
        "welcomer\n"
    );
    let output = wharf_output(root, &["start", "greeter"]);
    assert_code(&output, 125);
    assert_eq!(stderr(&output), "wharf: no such container: greeter\n");

    // A failing guest under on-failure:2: restarted twice by its policy,
    // then once more by `restart`, whose count Docker keeps.
    let failing = wat_guest("exit42");
    let failing = failing.to_str().expect("path");
    ok(
        root,
        &[
            "create",
            "--name",
            "flaky",
            "--restart",
            "on-failure:2",
            failing,
        ],
    );
    ok(root, &["start", "flaky"]);
    eventually(Duration::from_secs(30), "two restarts, then exited", || {
        let details = inspect(root, "flaky");
        details["State"]["Status"] == "exited" && details["RestartCount"] == 2
    });
    assert_eq!(inspect(root, "flaky")["State"]["ExitCode"], 42);
    assert_eq!(ok(root, &["restart", "-t", "1", "flaky"]), "flaky\n");
    assert_eq!(
        inspect(root, "flaky")["HostConfig"]["RestartPolicy"]["Name"],
        "on-failure"
    );
    // Renaming onto a name in use changes nothing.
    let output = wharf_output(root, &["rename", "flaky", "welcomer"]);
    assert_code(&output, 125);
    assert!(
        stderr(&output).contains("the name `welcomer` is in use"),
        "{}",
        stderr(&output)
    );
    ok(root, &["rm", "-f", "flaky", "welcomer"]);
    assert_eq!(ok(root, &["ps", "-aq"]), "");
}

#[test]
fn a_named_run_is_a_container_attached_to_its_output() {
    let root = state_root();
    let root = root.path();
    let failing = wat_guest("exit42");
    let output = wharf_output(
        root,
        &["run", "--name", "once", failing.to_str().expect("path")],
    );
    assert_code(&output, 42);
    assert_eq!(inspect(root, "once")["State"]["ExitCode"], 42);
    // With --rm it goes once it exits.
    let output = wharf_output(root, &["run", "--rm", "--name", "gone", &hello()]);
    assert_code(&output, 0);
    assert_eq!(stdout(&output), "Hello from WebAssembly, run by wharf!\n");
    assert_eq!(ok(root, &["ps", "-a", "--format", "{{.Names}}"]), "once\n");
}

#[test]
fn ps_filters_last_and_size_choose_what_docker_would() {
    let root = state_root();
    let root = root.path();
    let ticker = c_guest("ticker");
    let failing = wat_guest("exit42");
    detached(
        root,
        "web-a",
        &["--label", "app=shop", "--label", "tier=front"],
        &ticker,
    );
    detached(root, "web-b", &["--label", "app=blog"], &ticker);
    detached(root, "job", &[], &failing);
    eventually(Duration::from_secs(20), "the job exited", || {
        inspect(root, "job")["State"]["Status"] == "exited"
    });
    let names = |args: &[&str]| {
        let mut all = vec!["ps", "--format", "{{.Names}}"];
        all.extend_from_slice(args);
        ok(root, &all)
    };
    assert_eq!(names(&[]), "web-b\nweb-a\n");
    assert_eq!(names(&["-a"]), "job\nweb-b\nweb-a\n");
    assert_eq!(names(&["-n", "2"]), "job\nweb-b\n");
    assert_eq!(names(&["-l"]), "job\n");
    assert_eq!(names(&["--filter", "name=web"]), "web-b\nweb-a\n");
    assert_eq!(names(&["-f", "label=app=shop"]), "web-a\n");
    assert_eq!(names(&["-f", "label=app"]), "web-b\nweb-a\n");
    assert_eq!(
        names(&["-f", "label=app", "-f", "label=tier=front"]),
        "web-a\n"
    );
    assert_eq!(
        names(&["-f", "name=web-a", "-f", "name=job"]),
        "web-a\n",
        "job is not running"
    );
    assert_eq!(
        names(&["-a", "-f", "name=web-a", "-f", "name=job"]),
        "job\nweb-a\n"
    );
    assert_eq!(names(&["-f", "status=exited"]), "job\n");
    assert_eq!(names(&["-f", "exited=42"]), "job\n");
    assert_eq!(names(&["-f", "exited=0"]), "");
    let ancestor = format!("ancestor={}", ticker.display());
    assert_eq!(names(&["-f", &ancestor]), "web-b\nweb-a\n");
    assert_eq!(
        ok(root, &["ps", "-f", "name=web-a", "--format", "{{.Labels}}"]),
        "app=shop,tier=front\n"
    );
    let sized = ok(root, &["ps", "-s", "-f", "name=web-a"]);
    let header = sized.lines().next().expect("header");
    assert!(header.ends_with("NAMES                   SIZE"), "{sized}");
    assert!(sized.contains("B (virtual "), "{sized}");
    for (bad, message) in [
        (
            "colour=red",
            "wharf: invalid filter 'colour': ps takes name, id, status, label, ancestor, exited\n",
        ),
        (
            "status=sleeping",
            "wharf: invalid filter 'status=sleeping': use created, restarting, running, paused, exited or dead\n",
        ),
    ] {
        let output = wharf_output(root, &["ps", "-f", bad]);
        assert_code(&output, 125);
        assert_eq!(stderr(&output), message);
    }
    let output = wharf_output(root, &["ps", "-f", "nokey"]);
    assert_code(&output, 125);
    assert!(
        stderr(&output).contains("bad format of filter `nokey`"),
        "{}",
        stderr(&output)
    );
    // stats with a template, as Docker's.
    let stats = ok(
        root,
        &[
            "stats",
            "--no-stream",
            "--format",
            "{{.Name}}: {{.MemPerc}}",
            "web-a",
        ],
    );
    assert!(
        stats.starts_with("web-a: ") && stats.trim_end().ends_with('%'),
        "{stats}"
    );
    // logs --tail all is every line.
    eventually(Duration::from_secs(20), "two ticks", || {
        ok(root, &["logs", "web-a"]).lines().count() >= 2
    });
    let all = ok(root, &["logs", "--tail", "all", "web-a"]);
    assert!(all.starts_with("tick 0\ntick 1\n"), "{all}");
    ok(root, &["rm", "-f", "web-a", "web-b", "job"]);
}

#[test]
fn flags_that_mean_nothing_for_wasm_are_refused_with_the_reason_and_leave_nothing() {
    let root = state_root();
    let root = root.path();
    let hello = hello();
    for (flags, reason) in [
        (
            vec!["--privileged"],
            "--privileged: a Wasm guest has no privileges to widen",
        ),
        (
            vec!["--cap-add", "NET_ADMIN"],
            "--cap-add NET_ADMIN: a Wasm guest makes no system calls",
        ),
        (
            vec!["--device", "/dev/fuse"],
            "--device /dev/fuse: WASI has no device files",
        ),
        (vec!["-d", "--privileged"], "--privileged: "),
    ] {
        let mut args = vec!["run"];
        args.extend_from_slice(&flags);
        args.push(&hello);
        let output = wharf_output(root, &args);
        assert_code(&output, 125);
        let error = stderr(&output);
        assert!(
            error.starts_with(&format!("wharf: {reason}")),
            "{flags:?}: {error}"
        );
        assert_eq!(error.lines().count(), 1, "{error}");
        assert_eq!(stdout(&output), "", "the guest did not run");
    }
    let output = wharf_output(root, &["exec", "web", "sh"]);
    assert_code(&output, 125);
    assert!(
        stderr(&output).starts_with("wharf: exec: a Wasm container is one guest"),
        "{}",
        stderr(&output)
    );
    let output = wharf_output(root, &["container", "exec", "-it", "web", "sh"]);
    assert_code(&output, 125);
    assert_eq!(ok(root, &["ps", "-aq"]), "", "no container was made");
    // --init is accepted, with a note; --read-only and --cap-drop already hold.
    let output = wharf_output(
        root,
        &["run", "--init", "--read-only", "--cap-drop", "ALL", &hello],
    );
    assert_code(&output, 0);
    assert_eq!(stdout(&output), "Hello from WebAssembly, run by wharf!\n");
    assert!(
        stderr(&output).contains("--init: a Wasm guest starts no processes"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn tty_gives_the_guest_a_terminal_in_the_foreground_and_detached() {
    let root = state_root();
    let root = root.path();
    let guest = c_guest("tty");
    let guest = guest.to_str().expect("path");
    let plain = wharf_output(root, &["run", guest]);
    assert_eq!(stdout(&plain), "stdout terminal: no\n");
    let tty = wharf_output(root, &["run", "-t", guest]);
    assert_code(&tty, 0);
    // One terminal for both streams, with a terminal's line endings.
    assert_eq!(
        stdout(&tty),
        "stdout terminal: yes\r\nstderr terminal: yes\r\n"
    );
    assert_eq!(stderr(&tty), "");
    ok(root, &["run", "-d", "-t", "--name", "term", guest]);
    eventually(Duration::from_secs(20), "both lines logged", || {
        ok(root, &["logs", "term"]).matches("terminal: yes").count() == 2
    });
    assert_eq!(inspect(root, "term")["Config"]["Tty"], true);
    ok(root, &["rm", "term"]);
}

#[test]
fn completions_and_man_pages_come_from_the_same_definitions() {
    let root = state_root();
    let root = root.path();
    let bash = ok(root, &["completion", "bash"]);
    for word in ["compose", "container", "--format", "--allow-outbound"] {
        assert!(bash.contains(word), "{word} in the bash completion");
    }
    assert!(ok(root, &["completion", "zsh"]).starts_with("#compdef wharf"));
    assert!(ok(root, &["completion", "fish"]).contains("complete -c wharf"));
    let output = wharf_output(root, &["completion", "tcsh"]);
    assert_code(&output, 125);
    let pages = root.join("man");
    let said = ok(root, &["man", pages.to_str().expect("path")]);
    assert!(
        said.ends_with(&format!(" man pages in {}\n", pages.display())),
        "{said}"
    );
    let run = std::fs::read_to_string(pages.join("wharf-run.1")).expect("wharf-run.1");
    assert!(
        run.contains(".TH wharf-run 1") && run.contains("allow\\-outbound"),
        "{run}"
    );
    for page in [
        "wharf.1",
        "wharf-container-ls.1",
        "wharf-compose-up.1",
        "wharf-system-prune.1",
    ] {
        assert!(pages.join(page).is_file(), "{page}");
    }
    assert!(
        !pages.join("wharf-supervise.1").exists(),
        "hidden commands have no page"
    );
}

#[test]
fn bad_labels_attachments_and_a_missing_compose_file_are_one_line_errors() {
    let root = state_root();
    let root = root.path();
    let hello = hello();
    let output = wharf_output(root, &["create", "--label", "=x", &hello]);
    assert_code(&output, 125);
    assert_eq!(
        stderr(&output),
        "wharf: --label: `=x` has no variable name\n"
    );
    let output = wharf_output(root, &["create", "--label-file", "/no/such/labels", &hello]);
    assert_code(&output, 125);
    assert!(
        stderr(&output).starts_with("wharf: cannot read label file /no/such/labels: "),
        "{}",
        stderr(&output)
    );
    assert_eq!(ok(root, &["ps", "-aq"]), "", "no container was made");
    ok(root, &["create", "--name", "a", &hello]);
    ok(root, &["create", "--name", "b", &hello]);
    let output = wharf_output(root, &["start", "-a", "a", "b"]);
    assert_code(&output, 125);
    assert_eq!(
        stderr(&output),
        "wharf: start -a takes one container: attach to one at a time\n"
    );
    assert_eq!(
        ok(root, &["ps", "-a", "--format", "{{.State}}"]),
        "created\ncreated\n",
        "neither started"
    );
    let empty = temp();
    let output = crate::common::wharf(root)
        .current_dir(empty.path())
        .args(["compose", "up"])
        .output()
        .expect("wharf");
    assert_code(&output, 125);
    assert!(
        stderr(&output).starts_with("wharf: no configuration file provided: not found"),
        "{}",
        stderr(&output)
    );
}
