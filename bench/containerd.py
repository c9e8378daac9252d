"""wharf under containerd: `ctr run --rm` against runc, containers per
second, and resident memory of the shims per idle container.

scripts/bench-containerd builds wharf, starts a private containerd (its own
socket, root and state under .bench/, the wharf shim on its PATH) and calls
this. The images are made here: the Wasm hello (examples/) and the idle
guest (bench/idle.c) with `wharf build`, the busybox image for runc as a
one-layer OCI layout of Debian's static busybox. Every ctr call has a
timeout; a failure names the command and ends the run. The containers this
makes are killed and deleted at the end, whatever happened.
"""

import argparse
import hashlib
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import time


WASM_RUNTIME = "io.containerd.wharf.v1"
HELLO = "docker.io/library/hello:latest"
IDLE = "docker.io/library/idle:latest"
HTTP = "docker.io/library/http:latest"
HTTP_GREETING = "Hello from a WebAssembly service, run by wharf!\n"
BUSYBOX = "docker.io/library/busybox:bench"
COMPUTE = "docker.io/library/compute:latest"
HELLO_LINE = "Hello from WebAssembly, run by wharf!"
TIMEOUT = 30
WASM_SHIM = "containerd-shim-wharf-v1"
RUNC_SHIM = "containerd-shim-runc-v2"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"


class Failure(Exception):
    pass


def run(argv, timeout=TIMEOUT, env=None):
    """Runs argv; returns (wall s, stdout+stderr). A non-zero exit or a
    timeout is a Failure naming the command."""
    start = time.perf_counter()
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as e:
        out = (e.output or b"").decode(errors="replace")
        raise Failure(f"`{' '.join(argv)}` hung: killed after {timeout} s; output so far:\n{out}")
    wall = time.perf_counter() - start
    text = proc.stdout.decode(errors="replace")
    if proc.returncode != 0:
        raise Failure(f"`{' '.join(argv)}` exited {proc.returncode}:\n{text}")
    return wall, text


class Ctr:
    def __init__(self, address, namespace):
        self.base = ["ctr", "--address", address, "-n", namespace]
        self.address = address

    def __call__(self, *argv, timeout=TIMEOUT):
        return run([*self.base, *argv], timeout=timeout)

    def tasks(self):
        """id -> status of every task of the namespace."""
        out = self("task", "ls")[1].splitlines()[1:]
        return {f[0]: f[2] for f in (line.split() for line in out) if len(f) >= 3}


# --- images -------------------------------------------------------------------

def put_blob(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(layout, "blobs", "sha256", digest), "wb") as f:
        f.write(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def busybox_layer(busybox):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for d in ["bin", "dev", "proc", "sys", "tmp", "etc"]:
            info = tarfile.TarInfo(d)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 0
            tar.addfile(info)
        with open(busybox, "rb") as f:
            data = f.read()
        info = tarfile.TarInfo("bin/busybox")
        info.size, info.mode, info.mtime = len(data), 0o755, 0
        tar.addfile(info, io.BytesIO(data))
        for applet in ["echo", "sleep", "sh"]:
            info = tarfile.TarInfo(f"bin/{applet}")
            info.type, info.linkname, info.mode, info.mtime = tarfile.SYMTYPE, "busybox", 0o777, 0
            tar.addfile(info)
    return out.getvalue()


def busybox_image(busybox, state):
    """A linux/amd64 OCI layout tarball of one layer: the static busybox."""
    layout = os.path.join(state, "busybox-layout")
    os.makedirs(os.path.join(layout, "blobs", "sha256"))
    layer = busybox_layer(busybox)
    layer_desc = {"mediaType": OCI_LAYER, **put_blob(layout, layer)}
    config = {"architecture": "amd64", "os": "linux",
              "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/bin"]},
              "rootfs": {"type": "layers", "diff_ids": [layer_desc["digest"]]}}
    config_desc = {"mediaType": OCI_CONFIG, **put_blob(layout, json.dumps(config).encode())}
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": config_desc, "layers": [layer_desc]}
    manifest_desc = {"mediaType": OCI_MANIFEST, **put_blob(layout, json.dumps(manifest).encode())}
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [{**manifest_desc,
                            "platform": {"architecture": "amd64", "os": "linux"},
                            "annotations": {"io.containerd.image.name": BUSYBOX,
                                            "org.opencontainers.image.ref.name": "bench"}}]}
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump(index, f)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    path = os.path.join(state, "busybox.tar")
    with tarfile.open(path, "w") as tar:
        for name in ["oci-layout", "index.json", "blobs"]:
            tar.add(os.path.join(layout, name), name)
    return path


def wasm_image(wharf, env, name, context, state):
    run([wharf, "build", "-q", "-t", name, context], env=env, timeout=120)
    path = os.path.join(state, f"{name}.tar")
    run([wharf, "save", "-o", path, name], env=env, timeout=120)
    return path


# --- processes ----------------------------------------------------------------

def processes():
    """pid -> (ppid, argv) of every process."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        out[int(entry)] = (ppid, [a.decode(errors="replace") for a in argv if a])
    return out


def shims(name, address):
    """Pids of the shim processes called `name` that serve this containerd."""
    found = []
    for pid, (_, argv) in processes().items():
        if argv and os.path.basename(argv[0]) == name and address in argv:
            found.append(pid)
    return sorted(found)


def descendants(roots):
    procs = processes()
    children = {}
    for pid, (ppid, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = [], list(roots)
    while todo:
        pid = todo.pop()
        for child in children.get(pid, []):
            out.append(child)
            todo.append(child)
    return sorted(out)


def pss_kib(pid):
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    raise Failure(f"/proc/{pid}/smaps_rollup has no Pss line")


def cpu_ticks(pids):
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
        fields = stat[stat.rindex(")") + 2:].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total


# --- the measurements -----------------------------------------------------------

def quantile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def printed(text, line):
    return line in text.splitlines()


class Bench:
    def __init__(self, args):
        self.ctr = Ctr(args.address, args.namespace)
        self.address = args.address
        self.containerd_pid = args.containerd_pid
        self.counter = 0
        self.detached = []
        # Runs that exited 0 without printing their line: a lost output is
        # reported (command and output), not fatal, so the figures still print.
        self.lost = []

    def next_id(self, prefix):
        self.counter += 1
        return f"{prefix}-{self.counter:04d}"

    def wharf_hello(self, layers=True):
        options = [] if layers else ["--annotation", "io.wharf.security-opt=no-layers"]
        argv = ["run", "--rm", "--platform", "wasi/wasm", "--runtime", WASM_RUNTIME,
                *options, HELLO, self.next_id("hello")]
        wall, text = self.ctr(*argv)
        if not printed(text, HELLO_LINE):
            self.lost.append((" ".join([*self.ctr.base, *argv]), text))
        return wall

    def wharf_compute(self, quota):
        """Wall time of the CPU-bound guest, under a CPU quota of `quota`
        (a fraction of one CPU) or none."""
        options = [] if quota is None else ["--cpu-quota", str(int(quota * 100000)),
                                            "--cpu-period", "100000"]
        argv = ["run", "--rm", "--platform", "wasi/wasm", "--runtime", WASM_RUNTIME,
                *options, COMPUTE, self.next_id("compute"), "/compute.wasm", "15"]
        wall, text = self.ctr(*argv)
        if "checksum" not in text:
            self.lost.append((" ".join([*self.ctr.base, *argv]), text))
        return wall

    def runc_echo(self):
        argv = ["run", "--rm", BUSYBOX, self.next_id("echo"), "/bin/busybox", "echo", "hi"]
        wall, text = self.ctr(*argv)
        if not printed(text, "hi"):
            self.lost.append((" ".join([*self.ctr.base, *argv]), text))
        return wall

    def start_idle(self, wasm, isolated=False):
        cid = self.next_id("idle" if wasm else "sleep")
        if wasm:
            isolation = ["--annotation", "io.wharf.isolation=process"] if isolated else []
            argv = ["run", "-d", "--null-io", "--platform", "wasi/wasm",
                    "--runtime", WASM_RUNTIME, *isolation, IDLE, cid]
        else:
            argv = ["run", "-d", "--null-io", BUSYBOX, cid, "/bin/busybox", "sleep", "100000"]
        self.detached.append(cid)
        self.ctr(*argv)
        return cid

    def wait_running(self, ids, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            status = self.ctr.tasks()
            bad = {i: status.get(i, "missing") for i in ids if status.get(i) != "RUNNING"}
            if not bad:
                return
            if time.monotonic() > deadline:
                raise Failure(f"containers not RUNNING after {timeout} s (`ctr task ls`): {bad}")
            time.sleep(0.2)

    def settled_pss(self, ids, shim):
        """Once `ids` run and their start-up garbage settled: the shims'
        PIDs, their children, and the PSS of each (see measure_pss)."""
        self.wait_running(ids)
        time.sleep(1)
        return measure_pss(self, shim, with_children=True)

    def clean_or_fail(self, what):
        """Kills and deletes every task and container, then waits out the
        wharf shim's linger (an idle one serves the next container, with
        what it kept); a Failure if anything stays."""
        errors = self.cleanup()
        if errors:
            raise Failure(f"cleanup of {what} failed:\n" + "\n".join(errors))
        deadline = time.monotonic() + 15
        while shims(WASM_SHIM, self.address) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = shims(WASM_SHIM, self.address)
        if left:
            raise Failure(f"after the cleanup of {what}, {len(left)} {WASM_SHIM} process(es) stay")

    def cleanup(self):
        """Kills and deletes every task and container of the namespace."""
        errors = []
        def attempt(*argv):
            try:
                self.ctr(*argv)
            except Failure as e:
                errors.append(str(e).strip())
        try:
            tasks = self.ctr.tasks()
        except Failure as e:
            return [str(e)]
        for cid, status in tasks.items():
            if status != "STOPPED":
                attempt("task", "kill", "-s", "SIGKILL", cid)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if all(s == "STOPPED" for s in self.ctr.tasks().values()):
                    break
            except Failure:
                break
            time.sleep(0.1)
        for cid in tasks:
            attempt("task", "delete", cid)
        try:
            containers = self.ctr("container", "ls", "-q")[1].split()
        except Failure as e:
            return errors + [str(e)]
        for cid in containers:
            attempt("container", "delete", cid)
        self.detached.clear()
        return errors


def start_time(bench, runs):
    peers = {"wharf": bench.wharf_hello, "runc": bench.runc_echo,
             "no-layers": lambda: bench.wharf_hello(layers=False)}
    names = list(peers)
    for name in names:  # warm-up: snapshots unpacked, shim and runc in the page cache
        peers[name]()
        peers[name]()
    times = {name: [] for name in names}
    for i in range(runs):
        for name in (names if i % 2 == 0 else names[::-1]):
            times[name].append(peers[name]())
    print(f"\n1. `ctr run --rm`: Wasm hello under wharf vs `busybox echo hi` under runc,"
          f" {runs} runs each, alternating")
    for name, what in [("wharf", "wharf (hello.wat)"), ("no-layers", "wharf, no layers"),
                       ("runc", "runc (busybox echo)")]:
        t = times[name]
        print(f"  {what:<20} median {statistics.median(t) * 1000:7.1f} ms"
              f"   p10 {quantile(t, 0.1) * 1000:7.1f}   p90 {quantile(t, 0.9) * 1000:7.1f}")
    ratio = statistics.median(times["wharf"]) / statistics.median(times["runc"])
    print(f"  wharf/runc median wall time: {ratio:.2f}x"
          f"   (target <= 0.33x: {'met' if ratio <= 1 / 3 else 'NOT met'})")
    layered = statistics.median(times["wharf"]) / statistics.median(times["no-layers"])
    print(f"  the kernel's layers (no_new_privs, Landlock, seccomp per guest thread)"
          f" cost {layered:.2f}x (target <= 1.05x: {'met' if layered <= 1.05 else 'NOT met'})")
    report_lost(bench, "the timed runs")


def cpu_quota(bench, runs):
    print(f"\n5. CPU limit: the CPU-bound guest (bench/compute.c, 15 rounds) under a 50% quota"
          f" (--cpu-quota 50000 --cpu-period 100000) vs none, {runs} runs each, alternating")
    times = {None: [], 0.5: []}
    for i in range(runs):
        for quota in ([None, 0.5] if i % 2 == 0 else [0.5, None]):
            times[quota].append(bench.wharf_compute(quota))
    free, limited = statistics.median(times[None]), statistics.median(times[0.5])
    ratio = limited / free
    print(f"  no limit {free * 1000:7.1f} ms   50% quota {limited * 1000:7.1f} ms"
          f"   ratio {ratio:.2f}x (target 1.8-2.2x: {'met' if 1.8 <= ratio <= 2.2 else 'NOT met'})")
    report_lost(bench, "the CPU-limited runs")


def report_lost(bench, what):
    if not bench.lost:
        return
    print(f"  LOST OUTPUT in {what}: {len(bench.lost)} run(s) exited 0 but did not print their line:")
    for argv, text in bench.lost:
        print(f"    {argv}\n      printed {text!r}")
    bench.lost.clear()


def throughput(bench, n):
    print(f"\n2. containers per second: {n} sequential `ctr run --rm`")
    for what, one in [("wharf (hello.wat)", bench.wharf_hello),
                      ("runc (busybox echo)", bench.runc_echo)]:
        start = time.perf_counter()
        for _ in range(n):
            one()
        total = time.perf_counter() - start
        print(f"  {what:<20} {n / total:6.1f} containers/s   ({total:.2f} s for {n})")
    report_lost(bench, "the sequential runs")


def measure_pss(bench, shim, with_children):
    pids = shims(shim, bench.address)
    children = descendants(pids) if with_children else []
    shim_kib = sum(pss_kib(p) for p in pids)
    child_kib = sum(pss_kib(p) for p in children)
    return pids, children, shim_kib, child_kib


def mem_available_kib():
    available = meminfo().get("MemAvailable")
    if available is None:
        raise Failure("/proc/meminfo has no MemAvailable line")
    return available


def meminfo():
    """/proc/meminfo's figures, in KiB."""
    figures = {}
    with open("/proc/meminfo") as f:
        for line in f:
            name, _, rest = line.partition(":")
            figures[name] = int(rest.split()[0])
    return figures


# Where a drop of MemAvailable can go besides the shim's own pages.
KERNEL_SHARES = ["KernelStack", "PageTables", "SUnreclaim", "Shmem"]


def thread_count(pids):
    total = 0
    for pid in pids:
        try:
            total += len(os.listdir(f"/proc/{pid}/task"))
        except OSError:
            pass
    return total


def density(bench, counts):
    print(f"\n3. density: resident memory (PSS, /proc/PID/smaps_rollup) per running idle container")
    print(f"  wharf: idle guest bench/idle.c (sleep(100000), blocks in poll_oneoff),"
          f" `ctr run -d --null-io`")
    running = []
    previous = None
    available_before = mem_available_kib()
    kernel_before = meminfo()
    containerd_before = pss_kib(bench.containerd_pid) if bench.containerd_pid else 0
    for count in counts:
        while len(running) < count:
            running.append(bench.start_idle(wasm=True))
        # Guests are threads of the shim; any child process counts too.
        pids, children, shim_kib, child_kib = bench.settled_pss(running, WASM_SHIM)
        kib = shim_kib + child_kib
        if not pids:
            raise Failure(f"no {WASM_SHIM} process names {bench.address} while {count} run")
        before = cpu_ticks(pids)
        time.sleep(1)
        ticks = cpu_ticks(pids) - before
        hz = os.sysconf("SC_CLK_TCK")
        line = (f"  {count:4d} containers: {len(pids)} shim process(es)"
                f" + {len(children)} other, PSS {kib / 1024:7.1f} MiB"
                f" = {kib / 1024 / count:5.2f} MiB per container")
        if previous is not None:
            pcount, pkib = previous[:2]
            line += f"; {(kib - pkib) / 1024 / (count - pcount):5.2f} MiB per added container"
        line += f"; shim CPU while idle {ticks / hz * 1000:.0f} ms/s"
        threads = thread_count(pids)
        dropped = available_before - mem_available_kib()
        line += (f"\n        threads {threads} = {threads / count:.2f} per container;"
                 f" MemAvailable dropped {dropped / 1024:.1f} MiB"
                 f" = {dropped / 1024 / count:5.2f} MiB per container")
        kernel = meminfo()
        shares = [f"{name} {(kernel[name] - kernel_before[name]) / 1024 / count:.3f}"
                  for name in KERNEL_SHARES if name in kernel]
        if bench.containerd_pid:
            grown = pss_kib(bench.containerd_pid) - containerd_before
            shares.append(f"containerd's PSS {grown / 1024 / count:.3f}")
        line += "\n        of that, MiB per container: " + ", ".join(shares)
        print(line)
        previous = (count, kib, threads, dropped)
    per = previous[1] / 1024 / previous[0]
    per_node = previous[3] / 1024 / previous[0]
    per_threads = previous[2] / previous[0]
    print(f"  target <= 0.25 MiB per idle container at {previous[0]}:"
          f" PSS {'met' if per <= 0.25 else 'NOT met'} ({per:.2f} MiB),"
          f" MemAvailable {'met' if per_node <= 0.25 else 'NOT met'} ({per_node:.2f} MiB);"
          f" threads <= 2 per container: {'met' if per_threads <= 2 else 'NOT met'}"
          f" ({per_threads:.2f})")
    bench.clean_or_fail("the wharf containers")
    print(f"  after killing and deleting all: no {WASM_SHIM} process left (an idle shim lingers 10 s for the next container)")

    count = counts[0]
    print(f"  runc, for reference: `busybox sleep 100000`, `ctr run -d --null-io`")
    running = [bench.start_idle(wasm=False) for _ in range(count)]
    pids, children, shim_kib, child_kib = bench.settled_pss(running, RUNC_SHIM)
    kib = shim_kib + child_kib
    print(f"  {count:4d} containers: {len(pids)} shim process(es) ({shim_kib / 1024:.1f} MiB)"
          f" + {len(children)} container process(es) ({child_kib / 1024:.1f} MiB),"
          f" PSS {kib / 1024:.1f} MiB = {kib / 1024 / count:5.2f} MiB per container")
    bench.clean_or_fail("the runc containers")


def isolated_density(bench, counts):
    """PSS per idle container in process isolation (io.wharf.isolation=process:
    each guest a walled process of its own), against the thread isolation in
    the same run, at each count."""
    print(f"\n3b. density in process isolation: PSS per idle container, thread vs process")
    per = {}
    for isolated in (False, True):
        running = []
        for count in counts:
            while len(running) < count:
                running.append(bench.start_idle(wasm=True, isolated=isolated))
            pids, children, shim_kib, child_kib = bench.settled_pss(running, WASM_SHIM)
            if not pids:
                raise Failure(f"no {WASM_SHIM} process names {bench.address} while {count} run")
            if isolated and len(children) < count:
                raise Failure(f"io.wharf.isolation=process not applied: {len(children)} guest"
                              f" process(es) for {count} containers")
            per[(isolated, count)] = (shim_kib + child_kib) / 1024 / count
            print(f"  {'process' if isolated else 'thread ':7s} {count:4d} containers:"
                  f" {len(pids)} shim(s) + {len(children)} process(es),"
                  f" PSS {(shim_kib + child_kib) / 1024:7.1f} MiB"
                  f" = {per[(isolated, count)]:5.2f} MiB per container")
        bench.clean_or_fail("the wharf containers")
    for count in counts:
        print(f"  at {count}: process/thread {per[(True, count)] / per[(False, count)]:.2f}x"
              f" (+{per[(True, count)] - per[(False, count)]:.2f} MiB per container)")


def served_density(bench, count):
    """PSS per idle served container: `count` HTTP services in one network
    namespace the bench makes (ports 20000 and up), each checked to answer."""
    print(f"\n4. density of services: PSS per idle served container (examples/http-hello)")
    netns = f"wharf-bench-{os.getpid()}"
    run(["ip", "netns", "add", netns])
    try:
        run(["ip", "-n", netns, "link", "set", "lo", "up"])
        ids = []
        for i in range(count):
            cid = bench.next_id("http")
            bench.ctr("run", "-d", "--null-io", "--platform", "wasi/wasm", "--runtime", WASM_RUNTIME,
                      "--with-ns", f"network:/var/run/netns/{netns}",
                      "--env", f"WHARF_HTTP_PORT={20000 + i}", HTTP, cid)
            bench.detached.append(cid)
            ids.append(cid)
        bench.wait_running(ids)
        for i in range(count):
            deadline = time.monotonic() + 20
            while True:
                got = subprocess.run(["ip", "netns", "exec", netns, "curl", "-s", "--max-time", "2",
                                      f"http://127.0.0.1:{20000 + i}/"], capture_output=True, text=True)
                if got.stdout == HTTP_GREETING:
                    break
                if time.monotonic() > deadline:
                    raise Failure(f"service {ids[i]} does not answer on port {20000 + i}")
                time.sleep(0.1)
        pids, children, shim_kib, child_kib = bench.settled_pss(ids, WASM_SHIM)
        kib = shim_kib + child_kib
        per = kib / 1024 / count
        print(f"  {count:4d} services, each answered once: {len(pids)} shim process(es), PSS"
              f" {kib / 1024:7.1f} MiB = {per:5.2f} MiB per served container")
        print(f"  target <= 1 MiB PSS per idle served container at {count}:"
              f" {'met' if per <= 1 else 'NOT met'} ({per:.2f} MiB)")
        bench.clean_or_fail("the services")
    finally:
        subprocess.run(["ip", "netns", "delete", netns], capture_output=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--wharf", required=True)
    parser.add_argument("--address", required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--state", required=True)
    parser.add_argument("--busybox", required=True)
    parser.add_argument("--containerd-log")
    parser.add_argument("--containerd-pid", type=int)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--sequential", type=int, default=100)
    parser.add_argument("--density", default="10,100")
    parser.add_argument("--served", type=int, default=100)
    args = parser.parse_args()
    counts = sorted({int(c) for c in args.density.split(",")})
    if args.runs < 1 or args.sequential < 1 or not counts or counts[0] < 1:
        parser.error("--runs, --sequential and --density counts must be at least 1")

    env = {"PATH": "/usr/bin:/bin", "HOME": args.state,
           "WHARF_ROOT": os.path.join(args.state, "wharf")}
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    bench = Bench(args)
    try:
        hello = wasm_image(args.wharf, env, "hello", os.path.join(here, "examples"), args.state)
        idle = wasm_image(args.wharf, env, "idle", os.path.join(args.state, "guests", "idle"),
                          args.state)
        service = wasm_image(args.wharf, env, "http", os.path.join(args.state, "guests", "http"),
                             args.state)
        compute = wasm_image(args.wharf, env, "compute",
                             os.path.join(args.state, "guests", "compute"), args.state)
        busybox = busybox_image(args.busybox, args.state)
        for tarball in [hello, idle, service, compute]:
            bench.ctr("images", "import", "--all-platforms", tarball, timeout=60)
        bench.ctr("images", "import", busybox, timeout=60)
        names = bench.ctr("images", "ls", "-q")[1].split()
        for name in [HELLO, IDLE, HTTP, COMPUTE, BUSYBOX]:
            if name not in names:
                raise Failure(f"`ctr images import` made no image {name}: {names}")

        versions = [run([args.wharf, "--version"])[1].strip(),
                    run(["containerd", "--version"])[1].strip(),
                    run(["runc", "--version"])[1].splitlines()[0]]
        print(" vs ".join(versions))
        start_time(bench, args.runs)
        throughput(bench, args.sequential)
        density(bench, counts)
        isolated_density(bench, counts)
        served_density(bench, args.served)
        cpu_quota(bench, max(3, args.runs // 3))
    except Failure as e:
        print(f"bench-containerd: {e}", file=sys.stderr)
        if args.containerd_log:
            with open(args.containerd_log, errors="replace") as f:
                tail = f.readlines()[-30:]
            print("bench-containerd: containerd's log, last lines:\n" + "".join(tail),
                  file=sys.stderr)
        return 1
    finally:
        errors = bench.cleanup()
        for error in errors:
            print(f"bench-containerd: cleanup: {error}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
