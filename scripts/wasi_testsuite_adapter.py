# wharf's adapter for the official WASI test suite (WebAssembly/wasi-testsuite):
# the runner loads it as a module and asks it how to run each test.
# `scripts/wasi-testsuite` runs the suite with it; $WHARF names the binary.
import os
import shlex
import subprocess
from typing import Dict, List, Optional, Tuple

WHARF = shlex.split(os.getenv("WHARF", "wharf"))


def get_name() -> str:
    return "wharf"


def get_version() -> str:
    result = subprocess.run(WHARF + ["--version"], encoding="UTF-8",
                            capture_output=True, check=True)
    return result.stdout.split()[1]


def get_wasi_versions() -> List[str]:
    return ["wasm32-wasip1", "wasm32-wasip3"]


def get_wasi_worlds() -> List[str]:
    return ["wasi:cli/command", "wasi:http/service"]


def get_timeout_seconds() -> float:
    # A first run compiles the test; the suite's 5 s is for warm runtimes.
    return 60.0


def compute_argv(test_path: str,
                 args_env_root: Tuple[List[str], Dict[str, str], Optional[str]],
                 proposals: List[str],
                 wasi_world: str,
                 wasi_version: str) -> List[str]:
    args, env, root = args_env_root
    # stdin attached, as the suite writes to it.
    argv = WHARF + ["run", "-i"]
    for key, value in env.items():
        argv += ["-e", f"{key}={value}"]
    if root:
        argv += ["-v", f"{root}:/"]
    if wasi_world == "wasi:http/service":
        # A free loopback port; wharf's first stderr line names it.
        argv += ["-p", "127.0.0.1:0:8080"]
    if "http" in proposals:
        # The suite's own servers, all on loopback.
        argv += ["--allow-outbound", "http://127.0.0.1:*"]
    if "sockets" in proposals:
        # Sockets tests bind, listen, connect and send at any address, as
        # under wasmtime's -Sinherit-network; scripts/wasi-testsuite runs
        # the suite in a network namespace of its own with only loopback.
        for rule in ["tcp://*:*", "udp://*:*"]:
            argv += ["--allow-outbound", rule, "--allow-listen", rule]
    return argv + [test_path] + args
