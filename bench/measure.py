"""Runs the peers side by side, interleaved, and prints ratios.

Each command runs under the small `spawn` launcher (bench/spawn.c), which
reports every run's wall time and peak resident memory (ru_maxrss).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


BATCH = 5


def run_batch(spawn, argv, runs, env):
    """Wall seconds and peak RSS (KiB) of `runs` runs of argv."""
    out = subprocess.run([spawn, str(runs), *argv], env=env, check=True,
                         capture_output=True, text=True).stdout
    pairs = [line.split() for line in out.splitlines()]
    return [int(ns) / 1e9 for ns, _ in pairs], [int(kib) for _, kib in pairs]


def interleaved(spawn, peers, runs, env, batch=BATCH):
    """Runs each peer `runs` times, in round-robin batches. A peer is an
    argv, or (argv, env) for one that needs an environment of its own."""
    results = {name: ([], []) for name in peers}
    done = 0
    while done < runs:
        n = min(batch, runs - done)
        for name, peer in peers.items():
            argv, peer_env = peer if isinstance(peer, tuple) else (peer, env)
            times, rss = run_batch(spawn, argv, n, peer_env)
            results[name][0].extend(times)
            results[name][1].extend(rss)
        done += n
    return results


def report(title, results, base, peers_for_ratio, unit="ms"):
    scale = 1000.0 if unit == "ms" else 1.0
    print(f"\n{title}")
    medians = {}
    for name, (times, rss) in results.items():
        medians[name] = (statistics.median(times), statistics.median(rss))
        print(f"  {name:<10} median {statistics.median(times) * scale:8.2f} {unit}"
              f"   p10 {quantile(times, 0.1) * scale:8.2f}   p90 {quantile(times, 0.9) * scale:8.2f}"
              f"   peak RSS median {statistics.median(rss) / 1024:5.1f} MiB"
              f" (max {max(rss) / 1024:5.1f})")
    for peer in peers_for_ratio:
        t = medians[base][0] / medians[peer][0]
        m = medians[base][1] / medians[peer][1]
        print(f"  {base}/{peer}: time {t:.2f}x   peak memory {m:.2f}x")


def target(results, now, then, limit):
    """The ratio of `now`'s median time to `then`'s, and whether it is
    within `limit`."""
    ratio = statistics.median(results[now][0]) / statistics.median(results[then][0])
    return f"{ratio:.2f}x (target <= {limit}x: {'met' if ratio <= limit else 'NOT met'})"


def before(args, env, hello):
    """This wharf's warm start against an earlier build's, with no volume
    and with one (opened by descriptor and checked now, by path before).
    The earlier build keeps its state and code cache apart: both builds
    carry the same version, so they would share cache entries."""
    volume = os.path.join(env["HOME"], "volume")
    os.makedirs(volume, exist_ok=True)
    mount = f"{volume}:/data"
    env_before = dict(env, WHARF_ROOT=os.path.join(env["HOME"], "before"),
                      XDG_CACHE_HOME=os.path.join(env["HOME"], "before-cache"))
    peers = {
        "wharf": [args.wharf, "run", hello],
        "before": ([args.before, "run", hello], env_before),
        "wharf -v": [args.wharf, "run", "-v", mount, hello],
        "before -v": ([args.before, "run", "-v", mount, hello], env_before),
    }
    interleaved(args.spawn, peers, 3, env)
    results = interleaved(args.spawn, peers, args.runs, env)
    report(f"start against {args.before}: hello.wasm, cache warm, {args.runs} runs each,"
           f" interleaved", results, "wharf", ["before"])
    for now, then in (("wharf", "before"), ("wharf -v", "before -v")):
        print(f"  {now} / {then}: {target(results, now, then, 1.05)}")


def quantile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--wharf", required=True)
    parser.add_argument("--wasmtime", required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--spawn", required=True)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--compute-runs", type=int, default=5)
    parser.add_argument("--before", help="a wharf binary built from an earlier commit:"
                        " its warm start is measured beside this one's")
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
            "no-layers": [args.wharf, "run", "--security-opt", "no-layers", hello],
            "wasmtime": [args.wasmtime, "run", "-C", "cache=y", hello],
            "native": [os.path.join(args.dir, "hello-native")],
        }
        # Warm both compiled-code caches and the page cache.
        interleaved(args.spawn, start_peers, 3, env)
        print(subprocess.run([args.wharf, "--version"], capture_output=True, text=True).stdout.strip(),
              "vs", subprocess.run([args.wasmtime, "--version"], capture_output=True, text=True).stdout.strip())
        results = interleaved(args.spawn, start_peers, args.runs, env)
        report(f"start: hello.wasm, cache warm, {args.runs} runs each, interleaved",
               results, "wharf", ["no-layers", "wasmtime", "native"])
        print("  the kernel's layers (no_new_privs, Landlock, seccomp) cost"
              f" {target(results, 'wharf', 'no-layers', 1.1)}")
        if args.before:
            before(args, env, hello)

        compute = os.path.join(args.dir, "compute.wasm")
        compute_peers = {
            "wharf": [args.wharf, "run", compute, "20"],
            "native": [os.path.join(args.dir, "compute-native"), "20"],
        }
        interleaved(args.spawn, compute_peers, 1, env)
        results = interleaved(args.spawn, compute_peers, args.compute_runs, env, batch=1)
        report(f"compute: sieve + hash, 20 rounds, {args.compute_runs} runs each",
               results, "wharf", ["native"], unit="s")

        # A CPU limit that holds: half a CPU should take about twice as long.
        limit_peers = {
            "--cpus 0.5": [args.wharf, "run", "--cpus", "0.5", compute, "20"],
            "unlimited": [args.wharf, "run", compute, "20"],
        }
        results = interleaved(args.spawn, limit_peers, args.compute_runs, env, batch=1)
        report(f"CPU limit: the compute guest under --cpus 0.5, {args.compute_runs} runs each",
               results, "--cpus 0.5", ["unlimited"], unit="s")
        slowed = (statistics.median(results["--cpus 0.5"][0])
                  / statistics.median(results["unlimited"][0]))
        print(f"  --cpus 0.5 / unlimited: {slowed:.2f}x"
              f" (target 1.8x to 2.2x: {'met' if 1.8 <= slowed <= 2.2 else 'NOT met'})")


if __name__ == "__main__":
    main()
