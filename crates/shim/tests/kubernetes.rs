//! A Kubernetes pod under the real containerd's CRI plugin, driven as a
//! kubelet drives it (CRI `runtime.v1` over gRPC), with RuntimeClass
//! handler `wharf`: the pod's sandbox (pause) container and its Wasm
//! containers run in one shim process, a container's output reaches its
//! CRI log, and stopping the pod stops everything. A pod with a network of
//! its own (CNI's bridge plugin, no address on the host: see
//! `wharf_testkit::TestContainerd::start_with_cri`) serves an HTTP
//! component on its pod IP inside that namespace, never on the node's, and
//! drains when the kubelet stops it.
//!
//! containerd 1.6's CRI plugin resolves images for the host's platform, so
//! the Wasm image goes in with its config saying linux/amd64 (as it would
//! for a cluster of this containerd); the layers, the .wasm entrypoint and
//! everything else are unchanged.

#[path = "support/common.rs"]
mod common;
#[path = "support/cri.rs"]
mod cri;

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{WASM_IMAGE, path_str, shim_binary, temp, wasm_image_archive};
use cri::*;
use wharf_containerd::Client;
use wharf_testkit::{TestContainerd, docker_archive_with_platform, skip_unless_root};

const CRI_NAMESPACE: &str = "k8s.io";

/// A pod named `name`, on the node's network or in a namespace of its own
/// (`network`, a NamespaceMode).
fn sandbox_config(name: &str, log_directory: &Path, network: i32) -> PodSandboxConfig {
    PodSandboxConfig {
        metadata: Some(PodSandboxMetadata {
            name: name.to_owned(),
            uid: format!("uid-{name}"),
            namespace: "default".to_owned(),
            attempt: 0,
        }),
        hostname: name.to_owned(),
        log_directory: path_str(log_directory).to_owned(),
        linux: Some(LinuxPodSandboxConfig {
            security_context: Some(LinuxSandboxSecurityContext {
                namespace_options: Some(NamespaceOption {
                    network,
                    ..NamespaceOption::default()
                }),
            }),
            ..LinuxPodSandboxConfig::default()
        }),
        ..PodSandboxConfig::default()
    }
}

fn container_config(name: &str, command: &[&str], args: &[&str]) -> ContainerConfig {
    ContainerConfig {
        metadata: Some(ContainerMetadata {
            name: name.to_owned(),
            attempt: 0,
        }),
        image: Some(ImageSpec {
            image: WASM_IMAGE.to_owned(),
        }),
        command: command.iter().map(|s| (*s).to_owned()).collect(),
        args: args.iter().map(|s| (*s).to_owned()).collect(),
        envs: vec![KeyValue {
            key: "POD_ENV".to_owned(),
            value: "from the pod spec".to_owned(),
        }],
        log_path: format!("{name}.log"),
        ..ContainerConfig::default()
    }
}

fn status(cri: &mut Client, id: &str) -> ContainerStatus {
    let response: ContainerStatusResponse = cri
        .call(
            CONTAINER_STATUS,
            &ContainerIdRequest {
                container_id: id.to_owned(),
            },
        )
        .expect("ContainerStatus");
    response.status.expect("a status")
}

fn wait_for_state(cri: &mut Client, id: &str, state: i32) -> ContainerStatus {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = status(cri, id);
        if status.state == state {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "container {id} never reached state {state}: {status:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn create_and_start(
    cri: &mut Client,
    pod: &str,
    sandbox: &PodSandboxConfig,
    config: ContainerConfig,
) -> String {
    let created: CreateContainerResponse = cri
        .call(
            CREATE_CONTAINER,
            &CreateContainerRequest {
                pod_sandbox_id: pod.to_owned(),
                config: Some(config),
                sandbox_config: Some(sandbox.clone()),
            },
        )
        .expect("CreateContainer");
    let _: Empty = cri
        .call(
            START_CONTAINER,
            &ContainerIdRequest {
                container_id: created.container_id.clone(),
            },
        )
        .expect("StartContainer");
    created.container_id
}

/// containerd with CRI and the Wasm image imported (as linux/amd64), and a
/// CRI client that sees the image; `None` (after SKIPPED) when not root.
fn cri_with_image(test: &str) -> Option<(tempfile::TempDir, TestContainerd, Client)> {
    if skip_unless_root(test, "containerd with CRI runs as root") {
        return None;
    }
    let work = temp();
    let linux_archive = work.path().join("guests-linux.tar");
    docker_archive_with_platform(&wasm_image_archive(), &linux_archive, "linux", "amd64");
    let containerd = TestContainerd::start_with_cri(&[&shim_binary()], WASM_IMAGE);
    let imported = containerd
        .ctr_in(CRI_NAMESPACE)
        .args(["images", "import", path_str(&linux_archive)])
        .output()
        .expect("ctr images import");
    assert!(imported.status.success(), "{imported:?}");

    let mut cri = Client::connect(&containerd.address(), CRI_NAMESPACE).expect("connect");
    let version: VersionResponse = cri
        .call(VERSION, &VersionRequest::default())
        .unwrap_or_else(|e| panic!("CRI Version: {e}\n{}", containerd.log_tail(40)));
    assert_eq!(version.runtime_name, "containerd");

    // CRI learns of imported images from containerd's events: wait until
    // it knows the image, or RunPodSandbox would try to pull it.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status: ImageStatusResponse = cri
            .call(
                IMAGE_STATUS,
                &ImageStatusRequest {
                    image: Some(ImageSpec {
                        image: WASM_IMAGE.to_owned(),
                    }),
                },
            )
            .expect("ImageStatus");
        if status.image.is_some_and(|image| !image.id.is_empty()) {
            break;
        }
        assert!(Instant::now() < deadline, "CRI never listed {WASM_IMAGE}");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some((work, containerd, cri))
}

fn run_pod(cri: &mut Client, containerd: &TestContainerd, sandbox: &PodSandboxConfig) -> String {
    let pod: RunPodSandboxResponse = cri
        .call(
            RUN_POD_SANDBOX,
            &RunPodSandboxRequest {
                config: Some(sandbox.clone()),
                runtime_handler: "wharf".to_owned(),
            },
        )
        .unwrap_or_else(|e| panic!("RunPodSandbox: {e}\n{}", containerd.log_tail(40)));
    pod.pod_sandbox_id
}

#[test]
fn a_pod_with_runtime_class_wharf_runs_under_cri() {
    let Some((work, containerd, mut cri)) =
        cri_with_image("a_pod_with_runtime_class_wharf_runs_under_cri")
    else {
        return;
    };
    let logs = work.path().join("pods/wasm-pod");
    fs::create_dir_all(&logs).expect("log directory");
    let sandbox = sandbox_config("wasm-pod", &logs, NAMESPACE_NODE);
    let pod = run_pod(&mut cri, &containerd, &sandbox);

    // A container that runs to completion: its output is in its CRI log.
    let hello = create_and_start(
        &mut cri,
        &pod,
        &sandbox,
        container_config("hello", &["/args_env.wasm"], &["from-kubernetes"]),
    );
    let exited = wait_for_state(&mut cri, &hello, CONTAINER_EXITED);
    assert_eq!(exited.exit_code, 0, "{exited:?}");
    let log = fs::read_to_string(logs.join("hello.log")).expect("the container's CRI log");
    assert!(log.contains(" stdout F arg 0=/args_env.wasm\n"), "{log}");
    assert!(log.contains(" stdout F arg 1=from-kubernetes\n"), "{log}");
    assert!(
        log.contains(" stdout F env POD_ENV=from the pod spec\n"),
        "{log}"
    );

    // A long-running one beside it: the pod costs one shim process.
    let sleeper = create_and_start(
        &mut cri,
        &pod,
        &sandbox,
        container_config("sleeper", &["/sleep.wasm"], &[]),
    );
    wait_for_state(&mut cri, &sleeper, CONTAINER_RUNNING);
    let shims = containerd.shim_pids();
    assert_eq!(shims.len(), 1, "one shim for the whole pod: {shims:?}");

    // Stopping the pod stops its containers; removing it removes them.
    let _: Empty = cri
        .call(
            STOP_POD_SANDBOX,
            &PodSandboxIdRequest {
                pod_sandbox_id: pod.clone(),
            },
        )
        .expect("StopPodSandbox");
    let stopped = wait_for_state(&mut cri, &sleeper, CONTAINER_EXITED);
    assert_eq!(stopped.exit_code, 137, "{stopped:?}");
    let _: Empty = cri
        .call(
            REMOVE_POD_SANDBOX,
            &PodSandboxIdRequest {
                pod_sandbox_id: pod.clone(),
            },
        )
        .expect("RemovePodSandbox");
    let listed = containerd
        .ctr_in(CRI_NAMESPACE)
        .args(["containers", "ls", "-q"])
        .output()
        .expect("ctr containers ls");
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout).trim(),
        "",
        "containers left"
    );
}

/// The pod network namespaces CNI made (`/var/run/netns/cni-*`).
fn cni_namespaces() -> Vec<std::path::PathBuf> {
    fs::read_dir("/var/run/netns")
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| entry.path())
                .filter(|path| {
                    path.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("cni-"))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `GET url` from inside the network namespace at `netns`, if it answers.
fn get_in(netns: &Path, url: &str) -> Option<String> {
    let output = std::process::Command::new("nsenter")
        .arg(format!("--net={}", netns.display()))
        .args(["curl", "-s", "--max-time", "2", url])
        .output()
        .expect("nsenter curl");
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

#[test]
fn a_served_pod_answers_in_its_own_network_namespace_and_drains_on_stop() {
    let test = "a_served_pod_answers_in_its_own_network_namespace_and_drains_on_stop";
    let Some((work, containerd, mut cri)) = cri_with_image(test) else {
        return;
    };
    let logs = work.path().join("pods/http-pod");
    fs::create_dir_all(&logs).expect("log directory");
    let sandbox = sandbox_config("http-pod", &logs, NAMESPACE_POD);
    let before = cni_namespaces();
    let pod = run_pod(&mut cri, &containerd, &sandbox);
    let made: Vec<_> = cni_namespaces()
        .into_iter()
        .filter(|ns| !before.contains(ns))
        .collect();
    assert_eq!(made.len(), 1, "the pod's namespace: {made:?}");
    let netns = &made[0];

    let web = create_and_start(
        &mut cri,
        &pod,
        &sandbox,
        container_config("web", &["/http.wasm"], &[]),
    );
    wait_for_state(&mut cri, &web, CONTAINER_RUNNING);
    // The image exposes 8090 (EXPOSE): the service listens there.
    let greeting = "Hello from a WebAssembly service, run by wharf!\n";
    let deadline = Instant::now() + Duration::from_secs(20);
    while get_in(netns, "http://127.0.0.1:8090/").as_deref() != Some(greeting) {
        assert!(
            Instant::now() < deadline,
            "the pod does not serve\n{}",
            containerd.log_tail(40)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // On the pod's own address too, as a Service's endpoint reaches it.
    let addresses = std::process::Command::new("nsenter")
        .arg(format!("--net={}", netns.display()))
        .args(["ip", "-4", "-o", "addr", "show", "eth0"])
        .output()
        .expect("nsenter ip addr");
    let addresses = String::from_utf8_lossy(&addresses.stdout).into_owned();
    let pod_ip = addresses
        .split_whitespace()
        .skip_while(|word| *word != "inet")
        .nth(1)
        .and_then(|cidr| cidr.split('/').next())
        .unwrap_or_else(|| panic!("the pod has no address: {addresses}"))
        .to_owned();
    assert_eq!(
        get_in(netns, &format!("http://{pod_ip}:8090/")).as_deref(),
        Some(greeting)
    );
    let on_node = std::process::Command::new("curl")
        .args(["-s", "--max-time", "2", "http://127.0.0.1:8090/"])
        .output()
        .expect("curl");
    assert!(
        !String::from_utf8_lossy(&on_node.stdout).contains("WebAssembly service"),
        "served on the node"
    );

    // The kubelet's stop: SIGTERM, then SIGKILL after the grace; the
    // service drains and exits 0 well within it.
    let _: Empty = cri
        .call(
            STOP_CONTAINER,
            &StopContainerRequest {
                container_id: web.clone(),
                timeout: 10,
            },
        )
        .expect("StopContainer");
    let stopped = wait_for_state(&mut cri, &web, CONTAINER_EXITED);
    assert_eq!(stopped.exit_code, 0, "{stopped:?}");
    for call in [STOP_POD_SANDBOX, REMOVE_POD_SANDBOX] {
        let _: Empty = cri
            .call(
                call,
                &PodSandboxIdRequest {
                    pod_sandbox_id: pod.clone(),
                },
            )
            .unwrap_or_else(|e| panic!("{call}: {e}"));
    }
    assert!(!netns.exists(), "the pod's namespace is left");
}
