"""Cold, warm and after-pull starts of big programs, wharf against wasmtime.

Every figure is a median of runs interleaved with the peer's. A cold wharf
run gets a fresh cache; when it starts on Winch it leaves Cranelift's
compile running in the background, which is waited for before the next
run (its CPU is part of the machine's load, not of the run's time).
"""

import argparse
import os
import shutil
import statistics
import subprocess
import time

# What each program does in a run: a short real job.
WORKLOADS = {
    "flite": ["-t", "Hello from wharf", "/out/speech.wav"],
    "yosys": ["-q", "-p", "help"],
}


def timed(argv, env):
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def wait_for_background_compiles(timeout=600):
    """Until no `wharf compile` runs (a tiered start's optimized compile)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        busy = subprocess.run(["pgrep", "-f", "wharf compile --quiet"],
                              stdout=subprocess.DEVNULL).returncode == 0
        if not busy:
            return
        time.sleep(0.05)


class Bench:
    def __init__(self, args):
        self.args = args
        self.state = args.state
        self.out = os.path.join(self.state, "out")
        os.makedirs(self.out, exist_ok=True)

    def env(self, root, home=None):
        return {"PATH": "/usr/bin:/bin", "HOME": home or self.state,
                "WHARF_ROOT": root, "XDG_CACHE_HOME": os.path.join(home or self.state, "cache")}

    def wharf_run(self, root, target, work):
        return [self.args.wharf, "run", "-v", f"{self.out}:/out", target, *work]

    def wasmtime_run(self, program, work, cache):
        return [self.args.wasmtime, "run", "-C", f"cache={'y' if cache else 'n'}",
                "--dir", f"{self.out}::/out", program, *work]

    def fresh_root(self, name):
        root = os.path.join(self.state, name)
        shutil.rmtree(root, ignore_errors=True)
        os.makedirs(root)
        return root

    def program(self, name):
        # A copy settled in the bench's directory: the file a user has.
        return os.path.join(self.args.programs, f"{name}.wasm")

    def measure(self, name):
        program, work = self.program(name), WORKLOADS[name]
        runs, cold_runs = self.args.runs, self.args.cold_runs
        results = {}

        # Cold: nothing compiled yet.
        cold = {"wharf": [], "wasmtime": []}
        for _ in range(cold_runs):
            root = self.fresh_root("cold")
            cold["wharf"].append(timed(self.wharf_run(root, program, work), self.env(root)))
            wait_for_background_compiles()
            cold["wasmtime"].append(timed(self.wasmtime_run(program, work, False),
                                          self.env(root)))
        results["cold"] = cold

        # Warm: wharf's cache has the code (the cold run's background
        # compile wrote it); wasmtime's cache is primed by one run.
        root = self.fresh_root("warm")
        home = os.path.join(self.state, "wasmtime-home")
        os.makedirs(home, exist_ok=True)
        subprocess.run([self.args.wharf, "compile", "--quiet", program], env=self.env(root),
                       check=True)
        subprocess.run(self.wasmtime_run(program, work, True), env=self.env(root, home),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        warm = {"wharf": [], "wasmtime": []}
        for _ in range(runs):
            warm["wharf"].append(timed(self.wharf_run(root, program, work), self.env(root)))
            warm["wasmtime"].append(timed(self.wasmtime_run(program, work, True),
                                          self.env(root, home)))
        results["warm"] = warm

        # After a pull: the image pushed to the registry, pulled into a
        # fresh store (which compiles it), then run once.
        image = f"{self.args.registry}/bench/{name}:1"
        build_root = self.fresh_root("build")
        context = os.path.join(self.state, f"context-{name}")
        os.makedirs(context, exist_ok=True)
        shutil.copy(program, os.path.join(context, f"{name}.wasm"))
        with open(os.path.join(context, "Dockerfile"), "w") as dockerfile:
            dockerfile.write(f"FROM scratch\nCOPY {name}.wasm /{name}.wasm\n"
                             f"ENTRYPOINT [\"/{name}.wasm\"]\n")
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "check": True}
        subprocess.run([self.args.wharf, "build", "-q", "-t", image, context],
                       env=self.env(build_root), **quiet)
        subprocess.run([self.args.wharf, "push", "-q", "--tls-verify=false", image],
                       env=self.env(build_root), **quiet)
        pulled = {"wharf after pull": [], "wharf warm": []}
        for _ in range(cold_runs):
            root = self.fresh_root("pulled")
            subprocess.run([self.args.wharf, "pull", "-q", "--tls-verify=false", image],
                           env=self.env(root), **quiet)
            pulled["wharf after pull"].append(
                timed(self.wharf_run(root, image, work), self.env(root)))
            pulled["wharf warm"].append(timed(self.wharf_run(root, image, work), self.env(root)))
        results["pull"] = pulled
        return results


def median_ms(values):
    return statistics.median(values) * 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--wharf", required=True)
    parser.add_argument("--wasmtime", required=True)
    parser.add_argument("--programs", required=True)
    parser.add_argument("--registry", required=True)
    parser.add_argument("--state", required=True)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--only", choices=sorted(WORKLOADS))
    args = parser.parse_args()
    bench = Bench(args)
    names = [args.only] if args.only else sorted(WORKLOADS)
    for name in names:
        size = os.path.getsize(bench.program(name)) / 1e6
        print(f"\n{name}.wasm ({size:.0f} MB): {' '.join(WORKLOADS[name])}"
              f"  [{args.cold_runs} cold runs, {args.runs} warm runs, medians]")
        results = bench.measure(name)
        cold, warm, pull = results["cold"], results["warm"], results["pull"]
        print(f"  cold        wharf {median_ms(cold['wharf']):9.1f} ms"
              f"   wasmtime -C cache=n {median_ms(cold['wasmtime']):9.1f} ms"
              f"   wharf/wasmtime {median_ms(cold['wharf']) / median_ms(cold['wasmtime']):.2f}x")
        print(f"  warm        wharf {median_ms(warm['wharf']):9.1f} ms"
              f"   wasmtime (cached)   {median_ms(warm['wasmtime']):9.1f} ms"
              f"   wharf/wasmtime {median_ms(warm['wharf']) / median_ms(warm['wasmtime']):.2f}x")
        after, again = median_ms(pull["wharf after pull"]), median_ms(pull["wharf warm"])
        print(f"  after pull  wharf {after:9.1f} ms   then warm {again:9.1f} ms"
              f"   after-pull/warm {after / again:.2f}x")


if __name__ == "__main__":
    main()
