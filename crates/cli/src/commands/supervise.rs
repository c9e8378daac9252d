//! `wharf supervise ID`: the process that watches one detached container
//! ([`wharf_lifecycle::supervisor`]); with `--guest`, one run of its guest.

use wharf_lifecycle::containers::{Container, Containers};
use wharf_lifecycle::supervisor::{self, Setting};

use crate::cli::SuperviseArgs;
use crate::paths;

pub fn supervise(args: SuperviseArgs) -> i32 {
    let setting = Setting {
        containers: paths::containers_dir(),
        cache: paths::cache_dir(),
        guest_args,
        remove_done,
    };
    if args.guest {
        return supervisor::guest(&args.id, &setting);
    }
    supervisor::supervise(&args.id, &setting)
}

/// This binary's arguments for one run of container `id`'s guest.
fn guest_args(id: &str) -> Vec<String> {
    vec!["supervise".to_owned(), id.to_owned(), "--guest".to_owned()]
}

/// A `--rm` container's removal, with its anonymous volumes.
fn remove_done(store: &Containers, container: &Container) {
    let _ = super::containers::remove_done(store, container);
}
