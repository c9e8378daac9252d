//! `wharf compose`: a Compose project's services as wharf containers, with
//! no daemon. Each service gets one container, `PROJECT-SERVICE-1`, made
//! as `wharf run -d` makes one and labelled as Compose labels its own, so
//! every other wharf command sees them. What the file asks that wharf
//! cannot do is an error when the file is read (see [`mod@file`]).

mod file;
mod project;
mod show;

use std::time::Duration;

use wharf_lifecycle::containers::{Container, Containers};

use super::Outcome;
use super::containers::open;
use crate::cli::{
    BuildArgs, ComposeArgs, ComposeCommand, ComposeDownArgs, ComposeServices, ComposeStopArgs,
    ComposeUpArgs, PullArgs, RegistryFlags,
};
use crate::report;
use file::Condition;
use project::Project;

pub fn compose(args: ComposeArgs) -> Outcome {
    let project = Project::load(&args).map_err(|m| report::fail_with(&m))?;
    match args.command {
        ComposeCommand::Up(up_args) => up(&project, &up_args),
        ComposeCommand::Down(down_args) => down(&project, &down_args),
        ComposeCommand::Ps(ps_args) => show::ps(&project, &ps_args),
        ComposeCommand::Logs(logs_args) => show::logs(&project, &logs_args),
        ComposeCommand::Stop(stop_args) => stop(&project, &stop_args),
        ComposeCommand::Start(services) => start(&project, &services),
        ComposeCommand::Restart(stop_args) => {
            stop(&project, &stop_args)?;
            start(&project, &stop_args.services)
        }
        ComposeCommand::Pull(services) => pull(&project, &services),
        ComposeCommand::Build(services) => build(&project, &services.services, true),
        ComposeCommand::Config(config_args) => show::config(&project, &config_args),
    }
}

/// One line of progress, as Compose prints it.
fn progress(kind: &str, name: &str, what: &str) {
    eprintln!(" \u{2714} {kind} {name}  {what}");
}

fn up(project: &Project, args: &ComposeUpArgs) -> Outcome {
    let order = project
        .ordered(&args.services.services)
        .map_err(|m| report::fail_with(&m))?;
    build(project, &order, args.build)?;
    let store = open()?;
    let mut started = Vec::new();
    for service in &order {
        wait_for_dependencies(project, &store, service)?;
        let container = bring_up(project, &store, service)?;
        started.push(container);
    }
    if args.detach {
        return Ok(0);
    }
    show::attach(project, &store, &started);
    Ok(0)
}

/// The service's container, made if missing and started if not running.
fn bring_up(project: &Project, store: &Containers, service: &str) -> Result<Container, i32> {
    let name = project.container_name(service);
    let container = match store.find(&name) {
        Ok(container)
            if container.record.labels.get(project::PROJECT_LABEL) == Some(&project.name) =>
        {
            container
        }
        Ok(_) => {
            return Err(report::fail_with(&format!(
                "the name `{name}` is in use by a container of no project `{}`: remove or rename it",
                project.name
            )));
        }
        Err(_) => {
            let args = project
                .run_args(service)
                .map_err(|m| report::fail_with(&m))?;
            let made = super::run::make_container(&args)?;
            progress("Container", &name, "Created");
            made
        }
    };
    {
        let _held = container.lock().map_err(|e| report::fail(&e))?;
        if container.supervisor_alive() {
            progress("Container", &name, "Running");
            return Ok(container);
        }
        super::detach::start(&container).map_err(|m| report::fail_with(&m))?;
    }
    super::start::remove_if_done(&container);
    progress("Container", &name, "Started");
    Ok(container)
}

/// Waits until what `service` depends on is ready as its condition says:
/// started (done: it was brought up first), or exited with 0.
fn wait_for_dependencies(project: &Project, store: &Containers, service: &str) -> Result<(), i32> {
    let dependencies = project
        .service(service)
        .depends_on
        .iter()
        .flat_map(|d| d.entries())
        .filter(|(_, condition)| *condition == Condition::ServiceCompletedSuccessfully);
    for (dependency, _) in dependencies {
        let name = project.container_name(&dependency);
        let container = store.find(&name).map_err(|e| report::fail(&e))?;
        let code = container
            .wait_for_supervisor(store)
            .map_err(|e| report::fail(&e))?;
        if code != Some(0) {
            let code = code.map_or("none recorded".to_owned(), |c| c.to_string());
            return Err(report::fail_with(&format!(
                "service {dependency} did not complete successfully: exit {code}"
            )));
        }
        progress("Container", &name, "Exited");
    }
    Ok(())
}

/// Builds the services of `services` that have a `build` section: all of
/// them when `always`, else those whose image is not stored yet.
fn build(project: &Project, services: &[String], always: bool) -> Outcome {
    let services = project
        .ordered(services)
        .map_err(|m| report::fail_with(&m))?;
    let store = super::open_store()?;
    for service in &services {
        let Some(build) = &project.service(service).build else {
            continue;
        };
        let image = project.image(service);
        let stored = super::reference(&image)
            .ok()
            .and_then(|r| store.resolve(&r).ok().flatten())
            .is_some();
        if stored && !always {
            continue;
        }
        let (context, dockerfile, build_args) = build.parts();
        let context = project.dir.join(context);
        super::build::make_image(&BuildArgs {
            tags: vec![image.clone()],
            file: dockerfile.map(|d| context.join(d)),
            build_args: build_args
                .into_iter()
                .map(|(key, value)| format!("{key}={}", value.unwrap_or_default()))
                .collect(),
            platform: None,
            artifact: false,
            quiet: true,
            context,
        })?;
        progress("Image", &image, "Built");
    }
    Ok(0)
}

fn pull(project: &Project, args: &ComposeServices) -> Outcome {
    for service in project
        .ordered(&args.services)
        .map_err(|m| report::fail_with(&m))?
    {
        if project.service(&service).build.is_some() {
            continue;
        }
        let image = project.image(&service);
        super::transfer::pull(PullArgs {
            platform: "wasi/wasm".to_owned(),
            registry: RegistryFlags { tls_verify: true },
            quiet: true,
            reference: image.clone(),
        })?;
        progress("Image", &image, "Pulled");
    }
    Ok(0)
}

fn stop(project: &Project, args: &ComposeStopArgs) -> Outcome {
    let store = open()?;
    let grace = Duration::from_secs(args.timeout);
    let containers = project
        .containers_of(&store, &args.services.services)
        .map_err(|m| report::fail_with(&m))?;
    // Dependents first: the newest were brought up last.
    for container in containers.into_iter().rev() {
        let name = container.label().to_owned();
        super::signals::stop_one(&store, container, grace).map_err(|e| report::fail(&e))?;
        progress("Container", &name, "Stopped");
    }
    Ok(0)
}

fn start(project: &Project, args: &ComposeServices) -> Outcome {
    let store = open()?;
    let order = project
        .ordered(&args.services)
        .map_err(|m| report::fail_with(&m))?;
    // Only the services named, in dependency order.
    let named = |service: &String| args.services.is_empty() || args.services.contains(service);
    for service in order.iter().filter(|s| named(s)) {
        let Ok(container) = store.find(&project.container_name(service)) else {
            continue;
        };
        {
            let _held = container.lock().map_err(|e| report::fail(&e))?;
            if !container.supervisor_alive() {
                super::detach::start(&container).map_err(|m| report::fail_with(&m))?;
            }
        }
        super::start::remove_if_done(&container);
        progress("Container", container.label(), "Started");
    }
    Ok(0)
}

fn down(project: &Project, args: &ComposeDownArgs) -> Outcome {
    let store = open()?;
    let grace = Duration::from_secs(args.timeout);
    let containers = project
        .containers(&store)
        .map_err(|m| report::fail_with(&m))?;
    for container in containers.into_iter().rev() {
        let name = container.label().to_owned();
        let id = container.record.id.clone();
        super::signals::stop_one(&store, container, grace).map_err(|e| report::fail(&e))?;
        progress("Container", &name, "Stopped");
        // A `--rm` container went as it stopped; one started again meanwhile
        // is killed (as `rm -f` does).
        if store.find(&id).is_ok() {
            super::containers::remove_one(&store, &id, true).map_err(|e| report::fail(&e))?;
        }
        progress("Container", &name, "Removed");
    }
    if args.volumes {
        for volume in project.file.volumes.keys() {
            let name = project.volume_name(volume);
            if crate::volumes::list().contains(&name) {
                crate::volumes::remove(&name).map_err(|m| report::fail_with(&m))?;
                progress("Volume", &name, "Removed");
            }
        }
    }
    Ok(0)
}
