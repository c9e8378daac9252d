//! `wharf image ...` and `system ...` as Docker has them: listing filters,
//! history, an image's labels carried to its containers, and pruning that
//! removes exactly what is unused.

use std::fs;

use crate::common::{assert_code, state_root, stderr, stdout, temp};
use crate::layout::{build, context, wharf};

const LABELLED: &str = "\
FROM scratch
COPY app.wasm /bin/app.wasm
LABEL org.example.team=wasm stage=test
ENV MODE=image
ENTRYPOINT [\"/bin/app.wasm\"]
";

#[track_caller]
fn ok(root: &std::path::Path, args: &[&str]) -> String {
    let output = wharf(root, args);
    assert_code(&output, 0);
    stdout(&output)
}

#[test]
fn image_filters_history_and_labels_answer_as_dockers_do() {
    let root = state_root();
    let root = root.path();
    let ctx = context(LABELLED);
    build(root, "shop/app:1", ctx.path());
    ok(root, &["image", "tag", "shop/app:1", "blog:2"]);
    let names = |args: &[&str]| {
        let mut all = vec!["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"];
        all.extend_from_slice(args);
        let mut listed: Vec<String> = ok(root, &all).lines().map(str::to_owned).collect();
        listed.sort();
        listed
    };
    assert_eq!(names(&[]), ["blog:2", "shop/app:1"]);
    assert_eq!(names(&["--filter", "reference=shop/*"]), ["shop/app:1"]);
    assert_eq!(
        names(&["--filter", "reference=*"]),
        ["blog:2"],
        "`*` stops at `/`"
    );
    assert_eq!(names(&["-f", "label=stage=test"]), ["blog:2", "shop/app:1"]);
    assert!(names(&["-f", "label=stage=prod"]).is_empty());
    assert_eq!(names(&["-f", "dangling=false"]), ["blog:2", "shop/app:1"]);
    assert!(
        names(&["-f", "dangling=true"]).is_empty(),
        "every image here has a tag"
    );
    let output = wharf(root, &["images", "-f", "size=1"]);
    assert_code(&output, 125);
    assert_eq!(
        stderr(&output),
        "wharf: invalid filter 'size': images take dangling, reference, label\n"
    );

    // history: newest step first, the top one with the image's ID.
    let history = ok(
        root,
        &[
            "image",
            "history",
            "--format",
            "{{.CreatedBy}}|{{.Size}}",
            "blog:2",
        ],
    );
    let steps: Vec<&str> = history.lines().collect();
    assert_eq!(steps.len(), 4, "{history}");
    assert!(
        steps[0].starts_with("ENTRYPOINT") && steps[0].ends_with("|0B"),
        "{history}"
    );
    assert!(
        steps[3].starts_with("COPY") && !steps[3].ends_with("|0B"),
        "a layer has a size: {history}"
    );
    let table = ok(root, &["history", "blog:2"]);
    assert!(table.starts_with("IMAGE          CREATED"), "{table}");
    let ids: Vec<String> = ok(root, &["history", "-q", "blog:2"])
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(ids[1..], ["<missing>"; 3]);
    assert_eq!(ids[0], ok(root, &["images", "-q", "blog"]).trim());

    // A container has its image's labels, under its own.
    let id = ok(
        root,
        &[
            "run",
            "-d",
            "--name",
            "web",
            "--label",
            "stage=live",
            "blog:2",
        ],
    );
    assert_eq!(id.trim().len(), 64);
    assert_eq!(
        ok(root, &["inspect", "-f", "{{json .Config.Labels}}", "web"]),
        "{\"org.example.team\":\"wasm\",\"stage\":\"live\"}\n"
    );
    assert_eq!(
        ok(
            root,
            &[
                "ps",
                "-a",
                "-f",
                "ancestor=blog:2",
                "--format",
                "{{.Names}}"
            ]
        ),
        "web\n"
    );
    assert_eq!(
        ok(
            root,
            &[
                "ps",
                "-a",
                "-f",
                "ancestor=shop/app:1",
                "--format",
                "{{.Names}}"
            ]
        ),
        ""
    );
    assert_eq!(
        ok(
            root,
            &[
                "ps",
                "-a",
                "-f",
                "label=org.example.team",
                "--format",
                "{{.Names}}"
            ]
        ),
        "web\n"
    );
    ok(root, &["rm", "-f", "web"]);
}

#[test]
fn prune_removes_only_what_no_name_and_no_container_holds() {
    let root = state_root();
    let root = root.path();
    let ctx = context(LABELLED);
    build(root, "kept:1", ctx.path());
    let other = context(&LABELLED.replace("stage=test", "stage=other"));
    build(root, "unused:1", other.path());
    ok(root, &["create", "--name", "holder", "kept:1"]);
    // Nothing dangles: a plain prune keeps every named image.
    let pruned = ok(root, &["image", "prune", "-f"]);
    assert_eq!(pruned, "Total reclaimed space: 0B\n");
    assert_eq!(ok(root, &["images", "-q"]).lines().count(), 2);
    // -a: images no container uses go; the one a created container holds stays.
    let pruned = ok(root, &["image", "prune", "-a", "-f"]);
    assert!(
        pruned.starts_with("Deleted Images:\nuntagged: unused:1\n"),
        "{pruned}"
    );
    assert_eq!(
        ok(root, &["images", "--format", "{{.Repository}}"]),
        "kept\n"
    );

    // system prune -a --volumes: the stopped container, then its image, its
    // anonymous volume (a named one stays) and the compiled code; asked
    // first without -f.
    ok(
        root,
        &[
            "run",
            "--name",
            "user",
            "-v",
            "/data",
            "-v",
            "scratch:/named",
            "kept:1",
        ],
    );
    assert!(root.join("volumes/scratch").is_dir());
    let anonymous: Vec<String> = fs::read_dir(root.join("volumes"))
        .expect("volumes")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.len() == 64)
        .collect();
    assert_eq!(anonymous.len(), 1, "{anonymous:?}");
    let asked = ok(root, &["system", "prune", "-a", "--volumes"]);
    assert!(
        asked.starts_with("WARNING! This will remove:\n  - all stopped containers\n"),
        "{asked}"
    );
    assert_eq!(
        ok(root, &["ps", "-aq"]).lines().count(),
        2,
        "nothing removed unasked"
    );
    let pruned = ok(root, &["system", "prune", "-a", "-f", "--volumes"]);
    assert!(pruned.contains("Deleted Containers:\n"), "{pruned}");
    assert!(
        pruned.contains(&format!("Deleted Volumes:\n{}\n", anonymous[0])),
        "{pruned}"
    );
    assert!(pruned.contains("untagged: kept:1\n"), "{pruned}");
    assert_eq!(ok(root, &["ps", "-aq"]), "");
    assert_eq!(ok(root, &["images", "-q"]), "");
    assert!(!root.join("volumes").join(&anonymous[0]).exists());
    assert!(
        root.join("volumes/scratch").is_dir(),
        "a named volume stays"
    );
    let blobs = root.join("images/blobs/sha256");
    assert_eq!(
        fs::read_dir(&blobs).expect("blobs").count(),
        0,
        "every blob collected"
    );
    assert!(
        !root.join("cache").exists()
            || fs::read_dir(root.join("cache")).expect("cache").count() == 0
    );
    let df = ok(
        root,
        &["system", "df", "--format", "{{.Type}} {{.TotalCount}}"],
    );
    assert_eq!(
        df,
        "Images 0\nContainers 0\nLocal Volumes 1\nCompiled Code 0\n"
    );
}

#[test]
fn the_management_forms_build_push_pull_save_load_and_run_an_image() {
    let registry = wharf_testkit::TestRegistry::start();
    let name = format!("{}/team/app:1", registry.address());
    let builder = temp();
    let builder = builder.path();
    let ctx = context(LABELLED);
    let built = ok(
        builder,
        &[
            "image",
            "build",
            "-q",
            "-t",
            &name,
            crate::common::path_str(ctx.path()),
        ],
    );
    assert!(built.starts_with("sha256:"), "{built}");
    let output = wharf(builder, &["image", "push", &name]);
    assert_code(&output, 0);
    assert!(stderr(&output).contains("Pushed"), "{}", stderr(&output));
    let archive = builder.join("app.tar");
    ok(
        builder,
        &[
            "image",
            "save",
            "-o",
            crate::common::path_str(&archive),
            &name,
        ],
    );

    // A second store: pull through the registry, load from the archive.
    let user = state_root();
    let user = user.path();
    let output = wharf(user, &["image", "pull", &name]);
    assert_code(&output, 0);
    assert_eq!(
        ok(
            user,
            &[
                "image",
                "inspect",
                "-f",
                "{{.Os}}/{{.Architecture}} {{index .Labels \"stage\"}}",
                &name
            ]
        ),
        "wasi/wasm test\n"
    );
    let removed = ok(user, &["image", "rm", &name]);
    assert!(
        removed.starts_with(&format!("Untagged: {name}\nDeleted: sha256:")),
        "{removed}"
    );
    assert_eq!(ok(user, &["image", "ls", "-q"]), "");
    ok(
        user,
        &["image", "load", "-i", crate::common::path_str(&archive)],
    );
    assert_eq!(
        ok(
            user,
            &["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"]
        ),
        format!("{name}\n")
    );

    // compose pull fetches a service's image from the registry.
    let project = temp();
    std::fs::write(
        project.path().join("compose.yaml"),
        format!("services:\n  app:\n    image: {name}\n"),
    )
    .expect("compose.yaml");
    let third = temp();
    let file = project.path().join("compose.yaml");
    let output = wharf(
        third.path(),
        &["compose", "-f", crate::common::path_str(&file), "pull"],
    );
    assert_code(&output, 0);
    assert!(
        stderr(&output).ends_with(&format!(" \u{2714} Image {name}  Pulled\n")),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        ok(
            third.path(),
            &["images", "--format", "{{.Repository}}:{{.Tag}}"]
        ),
        format!("{name}\n")
    );

    // And the container commands under their management names.
    ok(user, &["container", "run", "-d", "--name", "app", &name]);
    assert_eq!(ok(user, &["container", "wait", "app"]), "0\n");
    let logs = ok(user, &["container", "logs", "app"]);
    assert!(logs.contains("env MODE=image\n"), "{logs}");
    let output = wharf(user, &["container", "kill", "app"]);
    assert_code(&output, 125);
    assert_eq!(stderr(&output), "wharf: container app is not running\n");
    assert_eq!(ok(user, &["container", "rm", "app"]), "app\n");
    assert_eq!(ok(user, &["container", "ls", "-a", "-q"]), "");
}
