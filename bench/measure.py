"""Runs the peers side by side, interleaved, and prints ratios.

Each command is started with posix_spawn and reaped with wait4, so every
run yields its wall time and its peak resident memory (ru_maxrss).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def run_once(argv, env):
    """Wall seconds and peak RSS (KiB) of one run; fails on a non-zero exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        start = time.perf_counter()
        pid = os.posix_spawn(
            argv[0], argv, env,
            file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1)],
        )
        _, status, usage = os.wait4(pid, 0)
        elapsed = time.perf_counter() - start
    finally:
        os.close(devnull)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"bench: {' '.join(argv)} exited {code}")
    return elapsed, usage.ru_maxrss


def interleaved(peers, runs, env):
    """Runs each peer `runs` times, round-robin; per peer: times and RSS."""
    results = {name: ([], []) for name in peers}
    for _ in range(runs):
        for name, argv in peers.items():
            elapsed, rss = run_once(argv, env)
            results[name][0].append(elapsed)
            results[name][1].append(rss)
    return results


def report(title, results, base, peers_for_ratio, unit="ms"):
    scale = 1000.0 if unit == "ms" else 1.0
    print(f"\n{title}")
    medians = {}
    for name, (times, rss) in results.items():
        medians[name] = (statistics.median(times), max(rss))
        print(f"  {name:<10} median {statistics.median(times) * scale:8.2f} {unit}"
              f"   p10 {quantile(times, 0.1) * scale:8.2f}   p90 {quantile(times, 0.9) * scale:8.2f}"
              f"   peak RSS {max(rss) / 1024:6.1f} MiB")
    for peer in peers_for_ratio:
        t = medians[base][0] / medians[peer][0]
        m = medians[base][1] / medians[peer][1]
        print(f"  {base}/{peer}: time {t:.2f}x   peak memory {m:.2f}x")


def quantile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--wharf", required=True)
    parser.add_argument("--wasmtime", required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--compute-runs", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="wharf-bench-") as state:
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": state,
            "WHARF_ROOT": os.path.join(state, "wharf"),
            "XDG_CACHE_HOME": os.path.join(state, "cache"),
        }
        hello = os.path.join(args.dir, "hello.wasm")
        start_peers = {
            "wharf": [args.wharf, "run", hello],
            "wasmtime": [args.wasmtime, "run", "-C", "cache=y", hello],
            "native": [os.path.join(args.dir, "hello-native")],
        }
        # Warm both compiled-code caches and the page cache.
        interleaved(start_peers, 3, env)
        print(subprocess.run([args.wharf, "--version"], capture_output=True, text=True).stdout.strip(),
              "vs", subprocess.run([args.wasmtime, "--version"], capture_output=True, text=True).stdout.strip())
        results = interleaved(start_peers, args.runs, env)
        report(f"start: hello.wasm, cache warm, {args.runs} runs each, interleaved",
               results, "wharf", ["wasmtime", "native"])

        compute = os.path.join(args.dir, "compute.wasm")
        compute_peers = {
            "wharf": [args.wharf, "run", compute, "20"],
            "native": [os.path.join(args.dir, "compute-native"), "20"],
        }
        interleaved(compute_peers, 1, env)
        results = interleaved(compute_peers, args.compute_runs, env)
        report(f"compute: sieve + hash, 20 rounds, {args.compute_runs} runs each",
               results, "wharf", ["native"], unit="s")


if __name__ == "__main__":
    main()
