//! `wharf compose` end to end: a project of three services (an HTTP front
//! reached with curl, a job, and a worker that waits for both) through up,
//! ps, logs, restart and down, leaving nothing behind; an attached `up`;
//! and files wharf cannot honour, each a one-line error that names the
//! key and its line.

use std::path::Path;
use std::process::Command;

use crate::common::{assert_code, c_guest, state_root, stderr, stdout};
use crate::support::{ok, wharf_output};

const SHOP: &str = "\
name: shop
services:
  web:
    build: ./web
    ports:
      - \"8080\"
    labels:
      tier: front
    restart: unless-stopped
  job:
    build: ./tools
    command: write /data/report.txt
    volumes:
      - reports:/data
  worker:
    build:
      context: ./tools
      dockerfile: Dockerfile
    command: [\"read\", \"/data/report.txt\"]
    environment:
      MODE: check
    volumes:
      - \"reports:/data:ro\"
    depends_on:
      job:
        condition: service_completed_successfully
      web:
        condition: service_started
volumes:
  reports:
";

/// A project directory: the Compose file and two build contexts, one with
/// the HTTP example, one with the file-system guest.
fn project(compose: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("dir");
    let web = dir.path().join("web");
    let tools = dir.path().join("tools");
    for (context, program) in [
        (
            &web,
            Path::new(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../examples/http-hello/hello.wasm"
            ))
            .to_owned(),
        ),
        (&tools, c_guest("fs")),
    ] {
        std::fs::create_dir(context).expect("context");
        std::fs::copy(program, context.join("app.wasm")).expect("program");
        std::fs::write(
            context.join("Dockerfile"),
            "FROM scratch\nCOPY app.wasm /app.wasm\nENTRYPOINT [\"/app.wasm\"]\n",
        )
        .expect("Dockerfile");
    }
    std::fs::write(dir.path().join("compose.yaml"), compose).expect("compose.yaml");
    dir
}

fn compose(root: &Path, dir: &Path, args: &[&str]) -> std::process::Output {
    let file = dir.join("compose.yaml");
    let mut all = vec!["compose", "-f", file.to_str().expect("path")];
    all.extend_from_slice(args);
    wharf_output(root, &all)
}

#[track_caller]
fn compose_ok(root: &Path, dir: &Path, args: &[&str]) -> (String, String) {
    let output = compose(root, dir, args);
    assert_code(&output, 0);
    (stdout(&output), stderr(&output))
}

fn curl(address: &str) -> String {
    let output = Command::new("curl")
        .args(["-sS", "--max-time", "10", &format!("http://{address}/")])
        .output()
        .expect("curl");
    assert!(
        output.status.success(),
        "curl {address}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn a_three_service_project_comes_up_serves_logs_restarts_and_goes_leaving_nothing() {
    let root = state_root();
    let root = root.path();
    let dir = project(SHOP);
    let dir = dir.path();
    assert_eq!(
        compose_ok(root, dir, &["config", "--services"]).0,
        "job\nweb\nworker\n"
    );
    let (config, _) = compose_ok(root, dir, &["config"]);
    assert!(config.starts_with("name: shop\nservices:\n"), "{config}");
    assert!(config.contains("- 127.0.0.1:0:8080/tcp"), "{config}");

    let (_, built) = compose_ok(root, dir, &["build"]);
    assert_eq!(
        built,
        " \u{2714} Image shop-job  Built\n \u{2714} Image shop-web  Built\n \u{2714} Image shop-worker  Built\n"
    );
    let (_, progress) = compose_ok(root, dir, &["up", "-d"]);
    assert!(
        !progress.contains("Built"),
        "up builds nothing built already: {progress}"
    );
    // Dependencies first; the worker only after the job exited.
    let order: Vec<&str> = progress
        .lines()
        .filter(|l| l.contains("Container"))
        .collect();
    assert_eq!(
        order,
        [
            " \u{2714} Container shop-job-1  Created",
            " \u{2714} Container shop-job-1  Started",
            " \u{2714} Container shop-web-1  Created",
            " \u{2714} Container shop-web-1  Started",
            " \u{2714} Container shop-job-1  Exited",
            " \u{2714} Container shop-worker-1  Created",
            " \u{2714} Container shop-worker-1  Started",
        ],
        "{progress}"
    );
    // Compose's names and labels, seen by every wharf command.
    assert_eq!(
        ok(
            root,
            &[
                "ps",
                "-a",
                "--filter",
                "label=com.docker.compose.project=shop",
                "--format",
                "{{.Names}}"
            ]
        ),
        "shop-worker-1\nshop-web-1\nshop-job-1\n"
    );
    assert_eq!(
        ok(
            root,
            &[
                "inspect",
                "-f",
                "{{index .Config.Labels \"com.docker.compose.service\"}} {{.Config.Labels.tier}} {{.HostConfig.RestartPolicy.Name}}",
                "shop-web-1"
            ]
        ),
        "web front always\n"
    );
    // The worker reads the job's report and exits: only the web stays up.
    assert_eq!(ok(root, &["wait", "shop-worker-1"]), "0\n");
    let (running, _) = compose_ok(
        root,
        dir,
        &["ps", "--format", "{{.Name}} {{.Service}} {{.State}}"],
    );
    assert_eq!(running, "shop-web-1 web running\n");
    let (table, _) = compose_ok(root, dir, &["ps", "-a"]);
    assert!(
        table.starts_with("NAME            IMAGE         COMMAND"),
        "{table}"
    );
    assert_eq!(table.lines().count(), 4, "{table}");

    let address = ok(root, &["port", "shop-web-1", "8080"]);
    assert_eq!(
        curl(address.trim()),
        "Hello from a WebAssembly service, run by wharf!\n"
    );

    let (logs, _) = compose_ok(root, dir, &["logs", "worker", "job"]);
    assert!(logs.contains("job-1     | ok\n"), "{logs}");
    assert!(
        logs.contains("worker-1  | content: written by guest\n"),
        "{logs}"
    );
    let (plain, _) = compose_ok(root, dir, &["logs", "--no-log-prefix", "worker"]);
    assert_eq!(plain, "content: written by guest\nok\n");

    let (_, restarted) = compose_ok(root, dir, &["restart", "-t", "1", "web"]);
    assert_eq!(
        restarted,
        " \u{2714} Container shop-web-1  Stopped\n \u{2714} Container shop-web-1  Started\n"
    );
    let address = ok(root, &["port", "shop-web-1", "8080"]);
    assert_eq!(
        curl(address.trim()),
        "Hello from a WebAssembly service, run by wharf!\n"
    );
    let (_, stopped) = compose_ok(root, dir, &["stop", "-t", "1", "web"]);
    assert_eq!(stopped, " \u{2714} Container shop-web-1  Stopped\n");
    assert_eq!(compose_ok(root, dir, &["ps", "-q"]).0, "");
    let (_, started) = compose_ok(root, dir, &["start", "web"]);
    assert_eq!(started, " \u{2714} Container shop-web-1  Started\n");
    let address = ok(root, &["port", "shop-web-1", "8080"]);
    assert_eq!(
        curl(address.trim()),
        "Hello from a WebAssembly service, run by wharf!\n"
    );
    // `up` again: what runs keeps running; nothing is made twice.
    let (_, again) = compose_ok(root, dir, &["up", "-d", "web"]);
    assert_eq!(again, " \u{2714} Container shop-web-1  Running\n");

    let (_, down) = compose_ok(root, dir, &["down", "-v", "-t", "1"]);
    assert!(
        down.contains(" \u{2714} Container shop-web-1  Removed\n"),
        "{down}"
    );
    assert!(
        down.ends_with(" \u{2714} Volume shop_reports  Removed\n"),
        "{down}"
    );
    assert_eq!(ok(root, &["ps", "-aq"]), "", "no container left");
    assert!(
        !root.join("volumes/shop_reports").exists(),
        "no volume left"
    );
    assert!(
        std::net::TcpStream::connect(address.trim()).is_err(),
        "the port is closed"
    );
    let (listed, _) = compose_ok(root, dir, &["ps", "-a", "-q"]);
    assert_eq!(listed, "");
}

#[test]
fn an_attached_up_prints_each_services_output_until_they_end() {
    let root = state_root();
    let root = root.path();
    let dir = project(
        "services:\n  first:\n    build: ./tools\n    command: write /tmp-not-given\n  second:\n    build: ./tools\n    command: [\"read\", \"/nothing\"]\n    depends_on: [first]\n",
    );
    let dir = dir.path();
    let output = compose(root, dir, &["-p", "demo", "up"]);
    assert_code(&output, 0);
    let out = stdout(&output);
    assert!(out.contains("first-1   | denied: /tmp-not-given"), "{out}");
    assert!(out.contains("second-1  | denied: /nothing"), "{out}");
    // The project's name came from -p; the containers stay until down.
    assert_eq!(
        ok(root, &["ps", "-a", "--format", "{{.Names}}"]),
        "demo-second-1\ndemo-first-1\n"
    );
    compose_ok(root, dir, &["-p", "demo", "down"]);
    assert_eq!(ok(root, &["ps", "-aq"]), "");
}

#[test]
fn a_file_wharf_cannot_honour_is_a_one_line_error_naming_the_key_and_line() {
    let root = state_root();
    let root = root.path();
    for (file, expected) in [
        (
            "services:\n  web:\n    image: app\n    privileged: true\n",
            [
                "services.web: unknown field `privileged`",
                "at line 4 column 5",
            ],
        ),
        (
            "services:\n  web:\n    image: app\n    ports:\n      - \"8080:http\"\n",
            ["invalid port `8080:http`", "line 5"],
        ),
        (
            "services:\n  web:\n    build:\n      context: .\n      target: prod\n",
            ["unknown field `target`", "line 5"],
        ),
        (
            "services:\n  web:\n    image: app\n    platform: linux/amd64\n",
            ["unknown variant `linux/amd64`", "line 4"],
        ),
        (
            "services:\n  web:\n    image: app\n    depends_on: [db]\n",
            ["services.web.depends_on: no service `db`", ""],
        ),
    ] {
        let dir = project(file);
        let output = compose(root, dir.path(), &["up", "-d"]);
        assert_code(&output, 125);
        let error = stderr(&output);
        assert_eq!(error.lines().count(), 1, "{error}");
        assert!(
            error.starts_with("wharf: ") && error.contains("compose.yaml: "),
            "{error}"
        );
        for part in expected {
            assert!(error.contains(part), "{part:?} in {error}");
        }
    }
    // A cycle and a volume nobody declared are refused before anything runs.
    let dir = project(
        "services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [a]\n",
    );
    let output = compose(root, dir.path(), &["up", "-d"]);
    assert_code(&output, 125);
    assert!(
        stderr(&output).contains("dependency cycle: a -> b -> a"),
        "{}",
        stderr(&output)
    );
    let dir = project("services:\n  a:\n    build: ./tools\n    volumes: [\"cache:/c\"]\n");
    let output = compose(root, dir.path(), &["up", "-d"]);
    assert_code(&output, 125);
    assert!(
        stderr(&output).contains("`cache` is not declared under the top-level volumes"),
        "{}",
        stderr(&output)
    );
    assert_eq!(ok(root, &["ps", "-aq"]), "", "nothing was made");
}

#[test]
fn the_shipped_example_comes_up_with_one_command_and_goes_with_another() {
    let root = state_root();
    let root = root.path();
    let examples = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples"));
    let copy = tempfile::tempdir().expect("dir");
    for (from, to) in [
        ("compose/worker/worker.wat", "compose/worker/worker.wat"),
        ("compose/worker/Dockerfile", "compose/worker/Dockerfile"),
        ("http-hello/hello.wasm", "http-hello/hello.wasm"),
        ("http-hello/Dockerfile", "http-hello/Dockerfile"),
    ] {
        let target = copy.path().join(to);
        std::fs::create_dir_all(target.parent().expect("parent")).expect("dirs");
        std::fs::copy(examples.join(from), target).expect("copy");
    }
    // The example's own file, on a port of the kernel's choosing.
    let file = std::fs::read_to_string(examples.join("compose/compose.yaml")).expect("example");
    assert!(file.contains("\"127.0.0.1:8080:8080\""), "{file}");
    let dir = copy.path().join("compose");
    std::fs::write(
        dir.join("compose.yaml"),
        file.replace("127.0.0.1:8080:8080", "127.0.0.1:0:8080"),
    )
    .expect("write");
    compose_ok(root, &dir, &["up", "-d"]);
    let address = ok(root, &["port", "hello-front-1", "8080"]);
    assert_eq!(
        curl(address.trim()),
        "Hello from a WebAssembly service, run by wharf!\n"
    );
    crate::support::eventually(
        std::time::Duration::from_secs(20),
        "the worker works",
        || {
            compose_ok(root, &dir, &["logs", "worker"])
                .0
                .contains("worker-1  | worker: one more job done\n")
        },
    );
    compose_ok(root, &dir, &["down", "-t", "1"]);
    assert_eq!(ok(root, &["ps", "-aq"]), "");
}
