"""wharf's detached-container benchmark: `wharf run -d` until the guest
runs, `wharf ps` with 100 containers, and the resident memory (PSS) of
each idle detached container (its supervisor, with the guest inside).
Not a test: it prints figures against the targets of the issue.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def run(argv, env):
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        sys.exit(f"bench-detached: {' '.join(argv)} failed: {done.stderr.strip()}")
    return done.stdout


def timed(argv, env):
    start = time.perf_counter()
    out = run(argv, env)
    return (time.perf_counter() - start) * 1000, out


def pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def supervisors(wharf, env):
    ids = run([wharf, "ps", "-q", "--no-trunc"], env).split()
    pids = []
    for cid in ids:
        out = run([wharf, "inspect", cid], env)
        pid = int(out.split('"Pid": ')[1].split(",")[0])
        pids.append(pid)
    return pids


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--wharf", required=True)
    parser.add_argument("--idle", required=True, help="the idle guest (.wasm)")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--density", default="10,100")
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="wharf-bench-detached-")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": root, "WHARF_ROOT": root}
    wharf = args.wharf
    try:
        # Warm the cache of compiled code, as a node that ran the image once.
        cid = run([wharf, "run", "-d", args.idle], env).strip()
        run([wharf, "rm", "-f", cid], env)

        print(f"1. `wharf run -d` until the guest runs (idle guest), {args.runs} runs")
        times = []
        for _ in range(args.runs):
            ms, out = timed([wharf, "run", "-d", args.idle], env)
            times.append(ms)
            run([wharf, "rm", "-f", out.strip()], env)
        print(f"  median {statistics.median(times):6.1f} ms   p10 {sorted(times)[len(times) // 10]:6.1f}"
              f"   p90 {sorted(times)[len(times) * 9 // 10]:6.1f}")

        counts = [int(c) for c in args.density.split(",")]
        print("\n2. resident memory (PSS, /proc/PID/smaps_rollup) per idle detached container")
        running = 0
        for count in counts:
            while running < count:
                run([wharf, "run", "-d", args.idle], env)
                running += 1
            time.sleep(1)
            pids = supervisors(wharf, env)
            total = sum(pss_kib(pid) for pid in pids)
            per = total / 1024 / count
            print(f"  {count:4d} containers: {len(pids)} supervisors, PSS {total / 1024:7.1f} MiB"
                  f" = {per:5.2f} MiB per container   (target <= 2 MiB: {'met' if per <= 2 else 'NOT met'})")

        print(f"\n3. `wharf ps` with {running} containers, {args.runs} runs")
        for argv in (["ps"], ["ps", "-a"], ["ps", "--format", "json"]):
            times = [timed([wharf, *argv], env)[0] for _ in range(args.runs)]
            median = statistics.median(times)
            print(f"  wharf {' '.join(argv):<18} median {median:6.1f} ms"
                  f"   (target < 50 ms: {'met' if median < 50 else 'NOT met'})")
    finally:
        ids = subprocess.run([wharf, "ps", "-a", "-q", "--no-trunc"], env=env,
                             capture_output=True, text=True).stdout.split()
        if ids:
            subprocess.run([wharf, "rm", "-f", *ids], env=env, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
