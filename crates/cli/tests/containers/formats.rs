//! Docker's `--format` on `ps`, `images` and `inspect -f` (Go templates,
//! `table TEMPLATE`, `json`), and `logs -n`, with the exact text a Docker
//! user would compare.

use std::time::Duration;

use crate::common::{assert_code, c_guest, state_root, stderr, stdout};
use crate::support::{detached, eventually, ok, wharf_output};

#[test]
fn ps_inspect_and_logs_print_what_dockers_formats_and_flags_ask_for() {
    let root = state_root();
    let root = root.path();
    let ticker = c_guest("ticker");
    let web = detached(root, "web", &[], &ticker);
    detached(root, "job", &[], &ticker);

    // Newest first, as Docker lists them.
    assert_eq!(ok(root, &["ps", "--format", "{{.Names}}"]), "job\nweb\n");
    assert_eq!(
        ok(root, &["ps", "--format", "table {{.Names}}\\t{{.State}}"]),
        "NAMES     STATE\njob       running\nweb       running\n"
    );
    assert_eq!(
        ok(
            root,
            &["ps", "--format", "{{.ID}} {{upper .Names}}", "--no-trunc"]
        )
        .lines()
        .last(),
        Some(format!("{web} WEB").as_str())
    );
    assert_eq!(
        ok(root, &["inspect", "-f", "{{.State.Status}}", "web"]),
        "running\n"
    );
    assert_eq!(
        ok(
            root,
            &[
                "inspect",
                "--format",
                "{{.Name}} {{.State.Running}}",
                "web",
                "job"
            ]
        ),
        "/web true\n/job true\n"
    );
    assert_eq!(
        ok(root, &["inspect", "-f", "{{json .State.Status}}", "web"]),
        "\"running\"\n"
    );

    eventually(Duration::from_secs(20), "three ticks logged", || {
        ok(root, &["logs", "web"]).contains("tick 2\n")
    });
    let last = ok(root, &["logs", "-n", "1", "web"]);
    assert_eq!(last.lines().count(), 1, "{last}");
    assert!(last.starts_with("tick "), "{last}");

    // A field that rows do not have is an error naming it; a template that
    // does not parse is a usage error.
    let unknown = wharf_output(root, &["ps", "--format", "{{.Nope}}"]);
    assert_code(&unknown, 125);
    assert!(stderr(&unknown).contains("Nope"), "{}", stderr(&unknown));
    assert_eq!(stderr(&unknown).lines().count(), 1, "{}", stderr(&unknown));
    assert!(stdout(&unknown).is_empty());
    let unknown = wharf_output(root, &["inspect", "-f", "{{.State.Nope}}", "web"]);
    assert_code(&unknown, 125);
    assert!(stderr(&unknown).contains("Nope"), "{}", stderr(&unknown));
    assert!(stdout(&unknown).is_empty());
    let broken = wharf_output(root, &["inspect", "-f", "{{.State", "web"]);
    assert_code(&broken, 125);
    assert!(
        stderr(&broken).contains("template parsing error"),
        "{}",
        stderr(&broken)
    );

    ok(root, &["rm", "-f", "web", "job"]);
    assert_eq!(ok(root, &["ps", "-a", "--format", "{{.Names}}"]), "");
}
