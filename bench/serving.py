"""wharf's HTTP benchmark: requests/s and p99 latency of `wharf run -p`
against `wasmtime serve` on one component under wrk (runs alternate, so
both see the same machine), and the time from start to the first 200.
Not a test: it prints figures and the ratios against the issue's targets.
"""

import argparse
import http.client
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def first_200(port, limit=30.0):
    """Polls GET / until it answers 200; the time it took, in ms."""
    start = time.perf_counter()
    while time.perf_counter() - start < limit:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/")
            if conn.getresponse().status == 200:
                return (time.perf_counter() - start) * 1000
        except OSError:
            pass
        time.sleep(0.001)
    sys.exit(f"bench-http: nothing answered on port {port}")


def wrk(port, connections, seconds):
    threads = str(min(connections, 2))
    out = subprocess.run(
        ["wrk", "-t", threads, "-c", str(connections), "-d", f"{seconds}s", "--latency",
         f"http://127.0.0.1:{port}/"],
        capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        sys.exit(f"bench-http: {errors.group(1)} requests failed:\n{out}")
    return rps, float(p99.group(1)) * scale


class Server:
    def __init__(self, argv, port, env):
        self.port = port
        self.process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        first_200(port)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--wharf", required=True)
    parser.add_argument("--wasmtime", required=True)
    parser.add_argument("--component", required=True)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--starts", type=int, default=10)
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="wharf-bench-http-")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": root, "WHARF_ROOT": root}

    def wharf_argv(port):
        return [args.wharf, "run", "-p", f"127.0.0.1:{port}:8080", args.component]

    def wasmtime_argv(port):
        return [args.wasmtime, "serve", "--addr", f"127.0.0.1:{port}", args.component]

    # Throughput: both servers up, wrk alternating between them.
    wharf_port, wasmtime_port = free_port(), free_port()
    wharf = Server(wharf_argv(wharf_port), wharf_port, env)
    wasmtime = Server(wasmtime_argv(wasmtime_port), wasmtime_port, env)
    print(f"HTTP hello ({args.component}), wrk {args.duration} s per run, {args.rounds} rounds")
    for connections in (1, 50):
        results = {"wharf": [], "wasmtime": []}
        for _ in range(args.rounds):
            results["wharf"].append(wrk(wharf.port, connections, args.duration))
            results["wasmtime"].append(wrk(wasmtime.port, connections, args.duration))
        w_rps = statistics.median(r for r, _ in results["wharf"])
        t_rps = statistics.median(r for r, _ in results["wasmtime"])
        w_p99 = statistics.median(p for _, p in results["wharf"])
        t_p99 = statistics.median(p for _, p in results["wasmtime"])
        print(f"  concurrency {connections:>2}: wharf {w_rps:>9.0f} req/s p99 {w_p99:>7.2f} ms | "
              f"wasmtime serve {t_rps:>9.0f} req/s p99 {t_p99:>7.2f} ms | "
              f"req/s {w_rps / t_rps:.2f}x, p99 {w_p99 / t_p99:.2f}x")
    wharf.stop()
    wasmtime.stop()

    # Time to the first 200: `run -d -p` (cache warm) vs `wasmtime serve`.
    wharf_times, wasmtime_times = [], []
    for _ in range(args.starts):
        port = free_port()
        start = time.perf_counter()
        subprocess.run([args.wharf, "run", "-d", "--rm", "--name", "bench", "-p",
                        f"127.0.0.1:{port}:8080", args.component],
                       env=env, check=True, capture_output=True)
        first_200(port)
        wharf_times.append((time.perf_counter() - start) * 1000)
        subprocess.run([args.wharf, "stop", "-t", "1", "bench"], env=env, capture_output=True)
        subprocess.run([args.wharf, "rm", "-f", "bench"], env=env, capture_output=True)
        port = free_port()
        start = time.perf_counter()
        process = subprocess.Popen(wasmtime_argv(port), env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        first_200(port)
        wasmtime_times.append((time.perf_counter() - start) * 1000)
        process.terminate()
        process.wait(timeout=30)
    w, t = statistics.median(wharf_times), statistics.median(wasmtime_times)
    print(f"  time to first 200: wharf run -d -p {w:.1f} ms | wasmtime serve {t:.1f} ms | "
          f"{w / t:.2f}x (median of {args.starts})")
    print("targets: req/s at concurrency 50 >= 1.2x, p99 <= 1.0x, time to first 200 <= 0.5x")


if __name__ == "__main__":
    main()
