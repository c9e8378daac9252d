use std::sync::{Arc, Barrier};

use super::*;

fn store() -> (tempfile::TempDir, Containers) {
    let dir = tempfile::tempdir().expect("dir");
    let store = Containers::open(dir.path().join("containers")).expect("open");
    (dir, store)
}

fn new(name: Option<&str>) -> NewContainer {
    NewContainer {
        name: name.map(str::to_owned),
        image: "app.wasm".to_owned(),
        run: RunRecord::of(&wharf_engine::RunSpec::new("/app.wasm")),
        restart: RestartPolicy::No,
        auto_remove: false,
        log: LogOptions::default(),
        labels: Default::default(),
    }
}

#[test]
fn containers_are_found_by_name_id_and_unique_prefix() {
    let (_dir, store) = store();
    let web = store.create(new(Some("web"))).expect("create");
    let other = store.create(new(None)).expect("create");
    assert!(is_id(&web.record.id));
    assert!(!other.record.name.is_empty(), "a generated name");
    assert_eq!(store.find("web").expect("by name").record.id, web.record.id);
    assert_eq!(
        store.find(&web.record.id).expect("by id").record.name,
        "web"
    );
    let prefix = (1..64)
        .map(|n| &web.record.id[..n])
        .find(|p| !other.record.id.starts_with(p))
        .expect("the IDs differ");
    assert_eq!(
        store.find(prefix).expect("by prefix").record.id,
        web.record.id
    );
    assert!(matches!(
        store.find("nothing"),
        Err(ContainerError::NotFound(_))
    ));
    let (all, damaged) = store.list().expect("list");
    assert_eq!(all.len(), 2);
    assert!(damaged.is_empty());
    let shared = common_prefix(&web.record.id, &other.record.id);
    if !shared.is_empty() {
        assert!(matches!(
            store.find(shared),
            Err(ContainerError::Ambiguous { count: 2, .. })
        ));
    }
}

fn common_prefix<'a>(a: &'a str, b: &str) -> &'a str {
    let n = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    &a[..n]
}

#[test]
fn a_name_has_one_owner_even_when_claimed_at_once() {
    let (_dir, store) = store();
    let barrier = Arc::new(Barrier::new(8));
    let results: Vec<_> = (0..8)
        .map(|_| {
            let (store, barrier) = (store.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                store.create(new(Some("db")))
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().expect("thread"))
        .collect();
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    for error in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(matches!(error, ContainerError::NameInUse { name, .. } if name == "db"));
    }
    let (all, _) = store.list().expect("list");
    assert_eq!(all.len(), 1, "the losers left nothing behind");
    assert_eq!(
        std::fs::read_dir(&store.root).expect("root").count(),
        3,
        "one container, names/ and names.lock"
    );
}

#[test]
fn a_removed_containers_name_is_free_again() {
    let (_dir, store) = store();
    let first = store.create(new(Some("app"))).expect("create");
    let _lock = first.lock().expect("lock");
    store.remove(&first).expect("remove");
    assert!(matches!(
        store.find("app"),
        Err(ContainerError::NotFound(_))
    ));
    let second = store.create(new(Some("app"))).expect("the name is free");
    assert_ne!(second.record.id, first.record.id);
}

#[test]
fn a_container_whose_supervisor_died_shows_as_exited() {
    let (_dir, store) = store();
    let mut container = store.create(new(Some("svc"))).expect("create");
    let supervision = container.hold_supervision().expect("lock").expect("free");
    let mut running = State::created();
    running.status = Status::Running;
    running.pid = Some(1);
    container.set_state(running).expect("state");
    assert!(container.supervisor_alive());
    assert_eq!(
        store.find("svc").expect("find").state.status,
        Status::Running
    );
    assert!(
        container.hold_supervision().expect("lock").is_none(),
        "one supervisor"
    );
    drop(supervision);
    let mut seen = store.find("svc").expect("find");
    assert_eq!(seen.state.status, Status::Exited);
    assert_eq!(seen.state.exit_code, Some(crate::exit::LOST));
    assert_eq!(seen.state.error.as_deref(), Some(SUPERVISOR_DIED));
    assert!(seen.state.finished_at.is_none(), "nobody saw it end");
    // A command that killed it writes the exit down, with its time.
    seen.settle_lost().expect("settle");
    let settled = store.find("svc").expect("find");
    assert_eq!(settled.state.status, Status::Exited);
    assert_eq!(settled.state.exit_code, Some(crate::exit::LOST));
    assert_eq!(settled.state.error, None);
    assert!(settled.state.finished_at.is_some());
}

#[test]
fn a_second_command_finds_the_container_busy() {
    let (_dir, store) = store();
    let container = store.create(new(Some("busy"))).expect("create");
    let held = container.lock().expect("first");
    assert!(matches!(container.lock(), Err(ContainerError::Busy(name)) if name == "busy"));
    drop(held);
    assert!(container.lock().is_ok());
}

#[test]
fn a_command_waits_out_another_that_holds_the_lock_for_a_moment() {
    let (_dir, store) = store();
    let container = store.create(new(Some("brief"))).expect("create");
    let held = container.lock().expect("first");
    let released = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        drop(held);
    });
    assert!(container.lock().is_ok(), "waited for the first to let go");
    released.join().expect("released");
}

#[test]
fn damaged_and_half_made_containers_do_not_hide_the_others() {
    let (_dir, store) = store();
    store.create(new(Some("good"))).expect("create");
    let bad = store.create(new(Some("bad"))).expect("create");
    std::fs::write(bad.dir().join("state.json"), b"{ not json").expect("damage");
    std::fs::create_dir(store.root.join(format!(".new-{}", "a".repeat(64)))).expect("half");
    // A record whose ID is not its directory's (too short to be shown
    // as a short ID, too) is reported, not trusted.
    let stray = store.create(new(Some("stray"))).expect("create");
    let mut record = stray.record.clone();
    record.id = "abc".to_owned();
    write_json(&stray.dir().join("record.json"), &record).expect("rewrite");
    let (all, damaged) = store.list().expect("list");
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].record.name, "good");
    assert_eq!(damaged.len(), 2);
    let messages: Vec<String> = damaged.iter().map(ToString::to_string).collect();
    assert!(
        messages.iter().any(|m| m.contains("state.json is damaged")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("names another container")),
        "{messages:?}"
    );
    assert!(store.find("stray").is_err());
}

#[test]
fn files_are_closed_to_other_users() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, store) = store();
    let container = store.create(new(Some("private"))).expect("create");
    let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode(&store.root), 0o700);
    assert_eq!(mode(container.dir()), 0o700);
    assert_eq!(mode(&container.dir().join("state.json")), 0o600);
    assert_eq!(mode(&container.dir().join("record.json")), 0o600);
}

#[test]
fn a_rename_moves_the_name_and_a_name_in_use_changes_nothing() {
    let (_dir, store) = store();
    let mut web = store.create(new(Some("web"))).expect("create");
    let _db = store.create(new(Some("db"))).expect("create");
    let _held = web.lock().expect("lock");
    assert!(matches!(
        store.rename(&mut web, "db"),
        Err(ContainerError::NameInUse { .. })
    ));
    assert_eq!(
        store.find("web").expect("still web").record.id,
        web.record.id
    );
    store.rename(&mut web, "front").expect("rename");
    assert_eq!(store.find("front").expect("renamed").record.name, "front");
    assert!(matches!(
        store.find("web"),
        Err(ContainerError::NotFound(_))
    ));
    assert!(store.rename(&mut web, "-bad").is_err());
    // The old name is free again; removal releases the new one.
    store.create(new(Some("web"))).expect("old name reused");
    store.remove(&web).expect("remove");
    assert!(matches!(
        store.find("front"),
        Err(ContainerError::NotFound(_))
    ));
}
