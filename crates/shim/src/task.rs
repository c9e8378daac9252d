//! The shim v2 Task service over the containers of one daemon.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;

use containerd_shim_protos::api::{
    self, ConnectRequest, ConnectResponse, CreateTaskRequest, CreateTaskResponse, DeleteRequest,
    DeleteResponse, Empty, KillRequest, PidsRequest, PidsResponse, StartRequest, StartResponse,
    StateRequest, StateResponse,
};
use containerd_shim_protos::cgroups::metrics::{
    CPUStat, CPUUsage, MemoryEntry, MemoryStat, Metrics,
};
use containerd_shim_protos::events::task::{TaskCreate, TaskDelete, TaskExit, TaskIO, TaskStart};
use containerd_shim_protos::protobuf::well_known_types::any::Any;
use containerd_shim_protos::protobuf::{EnumOrUnknown, Message, MessageField};
use containerd_shim_protos::ttrpc::{self, Code};
use wharf_engine::{Host, HostConfig, Output, RunSpec, Stdin};
use wharf_lifecycle::NetworkNamespace;
use wharf_lifecycle::RootfsMount;

use crate::artifact::{self, Containerd};
use crate::container::{Container, Status, Workload};
use crate::creating::Creating;
use crate::drain::Keepers;
use crate::events::{Event, Publisher};
use crate::group;
use crate::isolated::{self, Isolation};
use crate::node::{cpu_cgroup, layers_asked};
use crate::time::timestamp;
use crate::unmounts::Unmounts;

pub struct Service {
    host: Arc<Host>,
    /// How `host` was made: a guest's own process makes its host alike.
    host_config: HostConfig,
    publisher: Arc<Publisher>,
    containers: Arc<Mutex<HashMap<String, Arc<Container>>>>,
    shutdown: UnboundedSender<()>,
    socket: PathBuf,
    containerd: Containerd,
    unmounts: Unmounts,
    creating: Creating,
}

/// How long an idle daemon waits for a next container before it exits:
/// back-to-back `ctr run --rm` then skip starting a process and an engine.
const LINGER: Duration = Duration::from_secs(10);

pub(crate) fn rpc_error(code: Code, message: impl ToString) -> ttrpc::Error {
    ttrpc::Error::RpcStatus(ttrpc::get_status(code, message))
}

fn pid() -> u32 {
    std::process::id()
}

impl Service {
    pub fn new(
        (host, host_config): (Host, HostConfig),
        publisher: Publisher,
        shutdown: UnboundedSender<()>,
        socket: PathBuf,
        containerd: Containerd,
    ) -> Service {
        Service {
            host: Arc::new(host),
            host_config,
            publisher: Arc::new(publisher),
            containers: Arc::default(),
            shutdown,
            socket,
            containerd,
            unmounts: Unmounts::default(),
            creating: Creating::default(),
        }
    }

    fn containers(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Container>>> {
        self.containers.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn get(&self, id: &str, exec_id: &str) -> ttrpc::Result<Arc<Container>> {
        if !exec_id.is_empty() {
            return Err(rpc_error(
                Code::NOT_FOUND,
                format!("exec {exec_id}: wharf runs no execs"),
            ));
        }
        self.containers()
            .get(id)
            .cloned()
            .ok_or_else(|| rpc_error(Code::NOT_FOUND, format!("container {id} not found")))
    }

    fn prepare(&self, request: &CreateTaskRequest) -> Result<Container, String> {
        if request.terminal {
            return Err("a tty is not supported for Wasm containers: run without -t".to_owned());
        }
        if !request.checkpoint.is_empty() {
            return Err("checkpoints are not supported for Wasm containers".to_owned());
        }
        let bundle = PathBuf::from(&request.bundle);
        let spec = wharf_lifecycle::load(&bundle).map_err(|e| crate::report::chain(&e))?;
        let rootfs = spec.rootfs(&bundle).map_err(|e| crate::report::chain(&e))?;
        let mounts: Vec<RootfsMount> = request
            .rootfs
            .iter()
            .map(|m| RootfsMount {
                kind: m.type_.clone(),
                source: m.source.clone(),
                options: m.options.clone(),
            })
            .collect();
        if !mounts.is_empty() {
            std::fs::create_dir_all(&rootfs).map_err(|e| format!("{}: {e}", rootfs.display()))?;
        }
        self.unmounts.finish(&rootfs);
        wharf_lifecycle::mount_rootfs(&mounts, &rootfs).map_err(|e| crate::report::chain(&e))?;
        let isolation = isolated::isolation_asked(&spec).inspect_err(|_| {
            let _ = wharf_lifecycle::unmount_rootfs(&rootfs);
        })?;
        let mut serves = false;
        let workload = if spec.is_pod_sandbox() {
            Workload::Pause
        } else {
            let prepared = self
                .guest_run(&spec, &rootfs, &request.id, &bundle)
                .and_then(|run| {
                    // Compiled at Create, once per program (the host keeps
                    // it for every container that runs it): Start is warm,
                    // and a program that does not compile fails the Create.
                    let compiled = self
                        .host
                        .precompile(&run.program)
                        .map_err(|e| crate::report::chain(&e))?;
                    serves = compiled.shape == wharf_engine::ProgramShape::HttpHandler;
                    Ok(run)
                });
            let prepared = prepared.and_then(|mut run| {
                run.layers = layers_asked(&spec)?;
                // Resolved at Create: Start finds the same directories.
                wharf_engine::resolve_volumes(&mut run.volumes)
                    .map_err(|e| crate::report::chain(&e))?;
                Ok(run)
            });
            match prepared {
                Ok(mut run) => {
                    wire_stdio(&mut run, request);
                    Workload::Guest(Box::new(run))
                }
                Err(error) => {
                    let _ = wharf_lifecycle::unmount_rootfs(&rootfs);
                    return Err(error);
                }
            }
        };
        Ok(Container::new(
            request.id.clone(),
            bundle,
            rootfs,
            [
                request.stdin.clone(),
                request.stdout.clone(),
                request.stderr.clone(),
            ],
            workload,
            self.host.stop_handle(),
            self.network_of(&spec),
        )
        .with_cpu(cpu_cgroup(&spec, &request.id))
        .with_isolation(isolation, serves))
    }

    /// The network namespace a container's listeners go in. Under CRI a
    /// pod's containers name the sandbox's process's namespace
    /// (`/proc/PID/ns/net`), and the sandbox's process is this daemon: they
    /// get the namespace the sandbox's own spec names (CNI's). One that
    /// names this daemon with no sandbox known gets a namespace of its own,
    /// never the node's.
    fn network_of(&self, spec: &wharf_lifecycle::OciSpec) -> NetworkNamespace {
        let network = spec.network_namespace();
        let ours = PathBuf::from(format!("/proc/{}/ns/net", pid()));
        if network != NetworkNamespace::Join(ours) {
            return network;
        }
        spec.sandbox_id()
            .and_then(|id| {
                self.containers()
                    .get(id)
                    .map(|sandbox| sandbox.network.clone())
            })
            .unwrap_or(NetworkNamespace::New)
    }
}

impl Service {
    /// The run of the program the spec names in the rootfs; when the
    /// rootfs has no such program, the module of a Wasm artifact or
    /// component-layer image from containerd's content store.
    fn guest_run(
        &self,
        spec: &wharf_lifecycle::OciSpec,
        rootfs: &std::path::Path,
        id: &str,
        bundle: &std::path::Path,
    ) -> Result<RunSpec, String> {
        wharf_lifecycle::spec_or_module_run(spec, rootfs, || {
            artifact::module_of(&self.containerd, id, bundle)
        })?
        .map_err(|error| crate::report::chain(&error))
    }
}

/// containerd's event for the container's exit.
fn exit_event(container: &Container, exit: crate::container::Exit) -> Event {
    Event::Exit(TaskExit {
        container_id: container.id.clone(),
        id: container.id.clone(),
        pid: pid(),
        exit_status: exit.status,
        exited_at: timestamp(exit.at),
        ..Default::default()
    })
}

fn wire_stdio(run: &mut RunSpec, request: &CreateTaskRequest) {
    if !request.stdin.is_empty() {
        run.stdin = Stdin::File(PathBuf::from(&request.stdin));
    }
    let output = |path: &str| {
        if path.is_empty() {
            Output::Null
        } else {
            Output::File(PathBuf::from(path))
        }
    };
    run.stdout = output(&request.stdout);
    run.stderr = output(&request.stderr);
}

/// The requests of the Task service, each answered at once (`rpc` serves
/// them, and answers Wait itself).
impl Service {
    pub fn create(&self, request: CreateTaskRequest) -> ttrpc::Result<CreateTaskResponse> {
        // Held until the container is in the map (or its Create failed):
        // a second Create of this ID mounts nothing.
        let reserved = {
            let containers = self.containers();
            self.creating
                .reserve(&request.id, containers.contains_key(&request.id))
        };
        let Some(_reserved) = reserved else {
            return Err(rpc_error(
                Code::ALREADY_EXISTS,
                format!("container {} exists", request.id),
            ));
        };
        let container = self
            .prepare(&request)
            .map_err(|message| rpc_error(Code::FAILED_PRECONDITION, message))?;
        self.containers()
            .insert(request.id.clone(), Arc::new(container));
        self.publisher.publish(Event::Create(TaskCreate {
            container_id: request.id.clone(),
            bundle: request.bundle.clone(),
            rootfs: request.rootfs.clone(),
            io: MessageField::some(TaskIO {
                stdin: request.stdin.clone(),
                stdout: request.stdout.clone(),
                stderr: request.stderr.clone(),
                terminal: request.terminal,
                ..Default::default()
            }),
            pid: pid(),
            ..Default::default()
        }));
        Ok(CreateTaskResponse {
            pid: pid(),
            ..Default::default()
        })
    }

    pub fn start(&self, request: StartRequest) -> ttrpc::Result<StartResponse> {
        let container = self.get(&request.id, &request.exec_id)?;
        if !container.mark_running() {
            return Err(rpc_error(
                Code::FAILED_PRECONDITION,
                format!("container {} is not created", request.id),
            ));
        }
        let mut failed = None;
        if let Workload::Guest(run) = &container.workload
            && container.isolation == Isolation::Process
        {
            failed = self.start_isolated(&container, run).err();
        } else if let Workload::Guest(run) = &container.workload {
            let (host, publisher) = (self.host.clone(), self.publisher.clone());
            let containerd = self.containerd.clone();
            let (guest, run) = (container.clone(), run.clone());
            let keepers = Keepers::open(&[&container.stdout, &container.stderr]);
            std::thread::Builder::new()
                .name(format!("guest-{}", &container.id))
                .spawn(move || {
                    guest.enter_guest_thread();
                    let status = match host.run(&run, &guest.stop) {
                        Err(wharf_engine::Error::ServesHttp { .. }) => crate::service::serve(
                            &host,
                            &guest,
                            &run,
                            &containerd,
                        )
                        .unwrap_or_else(|message| {
                            crate::outcome::report_to(&guest.stderr, &format!("wharf: {message}"));
                            wharf_lifecycle::exit::ERROR as u32
                        }),
                        outcome => crate::outcome::exit_status(outcome, &guest.stderr),
                    };
                    keepers.drain();
                    if let Some(exit) = guest.mark_exited(status) {
                        publisher.publish(exit_event(&guest, exit));
                    }
                })
                .map_err(|e| rpc_error(Code::INTERNAL, format!("cannot start a thread: {e}")))?;
        }
        self.publisher.publish(Event::Start(TaskStart {
            container_id: request.id.clone(),
            pid: pid(),
            ..Default::default()
        }));
        // As a thread's guest that cannot run: said on its stderr, exit 125.
        if let Some(message) = failed {
            crate::outcome::report_to(&container.stderr, &format!("wharf: {message}"));
            if let Some(exit) = container.mark_exited(wharf_lifecycle::exit::ERROR as u32) {
                self.publisher.publish(exit_event(&container, exit));
            }
        }
        Ok(StartResponse {
            pid: pid(),
            ..Default::default()
        })
    }

    /// Starts the guest in a process of its own (see [`crate::isolated`])
    /// and a thread that waits for it and reports its exit.
    fn start_isolated(&self, container: &Arc<Container>, run: &RunSpec) -> Result<(), String> {
        let listener = if container.serves {
            Some(crate::service::listener_for(
                container,
                run,
                &self.containerd,
            )?)
        } else {
            None
        };
        let keepers = Keepers::open(&[&container.stdout, &container.stderr]);
        let mut child = isolated::spawn(run, &self.host_config, listener.as_ref())
            .map_err(|e| format!("cannot start the guest's process: {e}"))?;
        drop(listener);
        container.enter_guest_process(child.id());
        if container.serves {
            container.mark_serving();
        }
        let (guest, publisher) = (container.clone(), self.publisher.clone());
        std::thread::Builder::new()
            .name(format!("wait-{}", &container.id))
            .stack_size(64 << 10)
            .spawn(move || {
                let status = wharf_lifecycle::exit::of_wait(child.wait()) as u32;
                guest.left_guest_process();
                keepers.drain();
                if let Some(exit) = guest.mark_exited(status) {
                    publisher.publish(exit_event(&guest, exit));
                }
            })
            .map_err(|e| format!("cannot start a thread: {e}"))?;
        Ok(())
    }

    pub fn kill(&self, request: KillRequest) -> ttrpc::Result<Empty> {
        let container = self.get(&request.id, &request.exec_id)?;
        // Linux's signals are 1 to 64 (SIGRTMAX).
        if !(1..=64).contains(&request.signal) {
            return Err(rpc_error(
                Code::INVALID_ARGUMENT,
                format!("signal {} is not a signal", request.signal),
            ));
        }
        if let Some(exit) = container.kill(request.signal) {
            self.publisher.publish(exit_event(&container, exit));
        }
        Ok(Empty::new())
    }

    pub fn delete(&self, request: DeleteRequest) -> ttrpc::Result<DeleteResponse> {
        let container = self.get(&request.id, &request.exec_id)?;
        let exit = {
            let state = container.state();
            match (state.status, state.exit) {
                (Status::Running, _) => {
                    return Err(rpc_error(
                        Code::FAILED_PRECONDITION,
                        format!("container {} is running: kill it first", request.id),
                    ));
                }
                (_, Some(exit)) => exit,
                (_, None) => crate::container::Exit {
                    status: 0,
                    at: std::time::SystemTime::now(),
                },
            }
        };
        self.containers().remove(&request.id);
        if let Some(cpu) = &container.cpu {
            // The guest's thread may still be ending, walled in: it cannot
            // leave by itself.
            cpu.evict_and_remove();
        }
        self.unmounts.begin(container.rootfs.clone());
        self.publisher.publish(Event::Delete(TaskDelete {
            container_id: request.id.clone(),
            pid: pid(),
            exit_status: exit.status,
            exited_at: timestamp(exit.at),
            ..Default::default()
        }));
        Ok(DeleteResponse {
            pid: pid(),
            exit_status: exit.status,
            exited_at: timestamp(exit.at),
            ..Default::default()
        })
    }

    pub fn state(&self, request: StateRequest) -> ttrpc::Result<StateResponse> {
        let container = self.get(&request.id, &request.exec_id)?;
        let state = container.state();
        let status = match state.status {
            Status::Created => api::Status::CREATED,
            Status::Running => api::Status::RUNNING,
            Status::Stopped => api::Status::STOPPED,
        };
        Ok(StateResponse {
            id: container.id.clone(),
            bundle: container.bundle.display().to_string(),
            pid: pid(),
            status: EnumOrUnknown::new(status),
            stdin: container.stdin.clone(),
            stdout: container.stdout.clone(),
            stderr: container.stderr.clone(),
            terminal: false,
            exit_status: state.exit.map_or(0, |e| e.status),
            exited_at: state.exit.map_or(MessageField::none(), |e| timestamp(e.at)),
            ..Default::default()
        })
    }

    pub fn pids(&self, request: PidsRequest) -> ttrpc::Result<PidsResponse> {
        self.get(&request.id, "")?;
        Ok(PidsResponse {
            processes: vec![api::ProcessInfo {
                pid: pid(),
                ..Default::default()
            }],
            ..Default::default()
        })
    }

    pub fn stats(&self, request: api::StatsRequest) -> ttrpc::Result<api::StatsResponse> {
        let container = self.get(&request.id, "")?;
        let used = container.memory_used();
        let cpu = u64::try_from(container.cpu_used().as_nanos()).unwrap_or(u64::MAX);
        let metrics = Metrics {
            cpu: MessageField::some(CPUStat {
                usage: MessageField::some(CPUUsage {
                    total: cpu,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            memory: MessageField::some(MemoryStat {
                usage: MessageField::some(MemoryEntry {
                    usage: used,
                    max: used,
                    ..Default::default()
                }),
                rss: used,
                ..Default::default()
            }),
            ..Default::default()
        };
        let any = Any {
            type_url: "io.containerd.cgroups.v1.Metrics".to_owned(),
            value: metrics
                .write_to_bytes()
                .map_err(|e| rpc_error(Code::INTERNAL, crate::report::chain(&e)))?,
            ..Default::default()
        };
        Ok(api::StatsResponse {
            stats: MessageField::some(any),
            ..Default::default()
        })
    }

    pub fn connect(&self, _: ConnectRequest) -> ttrpc::Result<ConnectResponse> {
        Ok(ConnectResponse {
            shim_pid: pid(),
            task_pid: pid(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            ..Default::default()
        })
    }

    pub fn close_io(&self, request: api::CloseIORequest) -> ttrpc::Result<Empty> {
        // The guest sees end of file when the writer closes the stdin fifo.
        self.get(&request.id, &request.exec_id)?;
        Ok(Empty::new())
    }

    pub fn resize_pty(&self, request: api::ResizePtyRequest) -> ttrpc::Result<Empty> {
        self.get(&request.id, &request.exec_id)?;
        Err(rpc_error(
            Code::FAILED_PRECONDITION,
            "Wasm containers have no tty",
        ))
    }

    pub fn shutdown(&self, _: api::ShutdownRequest) -> ttrpc::Result<Empty> {
        if !self.containers().is_empty() {
            return Ok(Empty::new());
        }
        let (containers, shutdown) = (self.containers.clone(), self.shutdown.clone());
        let socket = self.socket.clone();
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(LINGER);
                let Ok(lock) = group::lock(&socket, "") else {
                    return;
                };
                let empty = containers.lock().is_ok_and(|c| c.is_empty());
                if !empty {
                    // Busy again; the next Shutdown starts another wait.
                    return;
                }
                if lock.claimed_within(LINGER) {
                    continue;
                }
                // Under the group's lock: a start either finds this group
                // gone or the daemon still serving.
                lock.remove_group();
                std::mem::forget(lock);
                let _ = shutdown.send(());
                return;
            }
        });
        Ok(Empty::new())
    }
}
