//! `wharf run -p`: an HTTP service in the foreground.

use std::net::TcpListener;

use wharf_engine::{Host, PoolSize, RunSpec, ServeStats};
use wharf_lifecycle::containers::ServiceRecord;
use wharf_lifecycle::ports::{DEFAULT_SERVICE_PORT, PortBinding};

use crate::cli::RunArgs;
use crate::{exit, paths, report, watchdog};
use wharf_lifecycle::hosts;

/// Serves `spec`'s component on the published ports until SIGINT or
/// SIGTERM, then drains and exits 0.
pub fn serve(args: &RunArgs, spec: &RunSpec, exposed: &[u16]) -> i32 {
    if args.timeout.is_some() {
        return report::fail_with(
            "--timeout does not go with -p: a service runs until stopped (see --request-timeout)",
        );
    }
    let pool = PoolSize {
        instances: u32::try_from(args.max_concurrency).unwrap_or(u32::MAX),
        memory_limit: spec.memory_limit,
    };
    let config = hosts::service(
        Some(paths::cache_dir()),
        args.compiler.unwrap_or_default(),
        Some(pool),
    );
    let host = match Host::new(config) {
        Ok(host) => host,
        Err(error) => return exit::of_error(&error),
    };
    let service = match host.service(spec) {
        Ok(service) => service,
        Err(error) => return exit::of_error(&error),
    };
    let bindings = published(args, exposed);
    let listeners = match bind_all(&bindings) {
        Ok(listeners) => listeners,
        Err(message) => return report::fail_with(&message),
    };
    let stop = host.stop_handle();
    if let Err(error) = watchdog::arm_drain(stop.clone()) {
        eprintln!("wharf: cannot watch for signals: {error}");
        return exit::ERROR;
    }
    for (_, listener) in &listeners {
        if let Ok(addr) = listener.local_addr() {
            eprintln!("Serving HTTP on http://{addr}/");
        }
    }
    let (ports, listeners): (Vec<_>, Vec<_>) = listeners.into_iter().unzip();
    let options = service_record(args, ports).serve_options(listeners);
    wharf_lifecycle::cgroup::join_process(
        &format!("run-{}", std::process::id()),
        args.cpus,
        args.cpu_shares,
    );
    // On this thread, walled whole (see `run`; the engine logs what holds
    // with WHARF_LOG=debug).
    let served = service.serve(options, &ServeStats::default(), &stop);
    if spec.layers == wharf_engine::Layers::Off {
        wharf_lifecycle::cgroup::leave_process();
    }
    std::mem::forget(host);
    match served {
        Ok(()) => 0,
        Err(error) => exit::of_error(&error),
    }
}

/// How `args` ask a service on `ports` to be served (the record a detached
/// one keeps; a foreground one is served from it too).
pub fn service_record(args: &RunArgs, ports: Vec<PortBinding>) -> ServiceRecord {
    let millis = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    ServiceRecord {
        ports,
        request_timeout_ms: millis(args.request_timeout),
        max_concurrency: args.max_concurrency,
        isolate_requests: args.isolate_requests,
        body_timeout_ms: millis(args.body_timeout),
        keep_alive_timeout_ms: millis(args.keep_alive_timeout),
        max_connections: args.max_connections,
        max_connections_per_client: args.max_connections_per_client,
    }
}

/// What `-p` and `-P` ask for: the `-p` bindings, and with `-P` each of
/// `exposed` (the service's default port when empty) on a free port.
pub fn published(args: &RunArgs, exposed: &[u16]) -> Vec<PortBinding> {
    let mut bindings = args.publish.clone();
    if args.publish_all {
        let defaults = [DEFAULT_SERVICE_PORT];
        let ports = if exposed.is_empty() {
            &defaults[..]
        } else {
            exposed
        };
        for &container_port in ports {
            bindings.push(PortBinding {
                host_ip: std::net::Ipv4Addr::LOCALHOST.into(),
                host_port: 0,
                container_port,
            });
        }
    }
    bindings
}

/// Binds every published port, or says which one cannot be.
pub fn bind_all(bindings: &[PortBinding]) -> Result<Vec<(PortBinding, TcpListener)>, String> {
    bindings
        .iter()
        .map(|binding| {
            let listener = TcpListener::bind(binding.host_addr()).map_err(|error| {
                format!(
                    "cannot publish port {}: {}",
                    binding.host_addr(),
                    describe(&error)
                )
            })?;
            let bound = listener
                .local_addr()
                .map_or(*binding, |addr| binding.bound_at(addr));
            Ok((bound, listener))
        })
        .collect()
}

fn describe(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::AddrInUse => "address already in use".to_owned(),
        std::io::ErrorKind::AddrNotAvailable => "no such address on this host".to_owned(),
        std::io::ErrorKind::PermissionDenied => {
            "permission denied (ports below 1024 need privileges)".to_owned()
        }
        _ => error.to_string(),
    }
}
