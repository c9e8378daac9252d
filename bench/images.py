"""Pull and push throughput of a ~50 MB image, wharf against skopeo.

scripts/bench-images starts the registry (docker-registry, plain HTTP on
127.0.0.1) and calls this with its address and a state directory on the
same disk. The peers alternate run by run (and which goes first flips), so
machine noise falls on both. Each run is checked for what it claims: a
cold push uploads every blob (no cross-repository mount), a pull of a
stored image moves no layer.
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time


LAYERS = 5
LAYER_BYTES = 10_000_000
SEED = 20240501
WHARF_NAME = "bench.local/image:1"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


class Failure(Exception):
    pass


# --- the test image ---------------------------------------------------------

def put_blob(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(layout, "blobs", "sha256", digest), "wb") as f:
        f.write(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def layer_tar(index, payload):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(f"data/layer{index}.bin")
        info.size = len(payload)
        info.mode = 0o644
        info.mtime = 0
        tar.addfile(info, io.BytesIO(payload))
    return out.getvalue()


def make_layout(layout):
    """An OCI image layout of one wasi/wasm image, tagged `1`, with LAYERS
    gzip layers of incompressible data. Returns (manifest descriptor,
    bytes of all its blobs)."""
    os.makedirs(os.path.join(layout, "blobs", "sha256"))
    rng = random.Random(SEED)
    layers, diff_ids = [], []
    for i in range(LAYERS):
        tar = layer_tar(i, rng.randbytes(LAYER_BYTES))
        diff_ids.append("sha256:" + hashlib.sha256(tar).hexdigest())
        layers.append({"mediaType": OCI_LAYER,
                       **put_blob(layout, gzip.compress(tar, compresslevel=1, mtime=0))})
    config = {"architecture": "wasm", "os": "wasi",
              "config": {"Entrypoint": ["/app.wasm"]},
              "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    config_desc = {"mediaType": OCI_CONFIG,
                   **put_blob(layout, json.dumps(config, separators=(",", ":")).encode())}
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": config_desc, "layers": layers}
    manifest_desc = {"mediaType": OCI_MANIFEST,
                     **put_blob(layout, json.dumps(manifest, separators=(",", ":")).encode())}
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    write_index(os.path.join(layout, "index.json"), manifest_desc, "1")
    total = config_desc["size"] + sum(layer["size"] for layer in layers)
    return manifest_desc, total


def write_index(path, manifest_desc, name):
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [{**manifest_desc,
                            "platform": {"architecture": "wasm", "os": "wasi"},
                            "annotations": {"org.opencontainers.image.ref.name": name}}]}
    with open(path, "w") as f:
        json.dump(index, f)


def make_tarball(layout, manifest_desc, path):
    """The layout as a tarball for `wharf load`, named by a full reference
    on a registry other than the benchmark's (so it is no mount source)."""
    named = os.path.join(os.path.dirname(path), "index-wharf.json")
    write_index(named, manifest_desc, WHARF_NAME)
    with tarfile.open(path, "w") as tar:
        tar.add(os.path.join(layout, "oci-layout"), "oci-layout")
        tar.add(named, "index.json")
        tar.add(os.path.join(layout, "blobs"), "blobs")


# --- running ------------------------------------------------------------------

def run(argv, env, check_output=None):
    """Runs argv; returns (wall s, cpu s of the child, its stdout+stderr)."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode(errors="replace")
    if proc.returncode != 0:
        raise Failure(f"{' '.join(argv)} exited {proc.returncode}:\n{text}")
    if check_output is not None:
        check_output(text)
    return wall, usage.ru_utime + usage.ru_stime, text


def quiet(argv, env):
    run(argv, env)


class Peers:
    def __init__(self, args, state):
        self.wharf = args.wharf
        self.registry = args.registry
        self.state = state
        self.counter = 0
        self.home = os.path.join(state, "home")
        os.makedirs(self.home, exist_ok=True)

    def fresh(self, what):
        self.counter += 1
        path = os.path.join(self.state, "runs", f"{self.counter:03d}-{what}")
        os.makedirs(path)
        return path

    def wharf_env(self, root):
        return {"PATH": "/usr/bin:/bin", "HOME": self.home, "WHARF_ROOT": root}

    def skopeo_env(self, data):
        # skopeo remembers where it saw each blob (its blob info cache, for
        # root in /var/lib/containers/cache) and would mount a blob from
        # another repository of the registry instead of pushing it. A fresh
        # cache per run (rootless mode, XDG_DATA_HOME) keeps it honest.
        return {"PATH": "/usr/bin:/bin", "HOME": self.home,
                "XDG_DATA_HOME": data, "XDG_RUNTIME_DIR": data,
                "_CONTAINERS_ROOTLESS_UID": "1000"}


def skopeo_copied(layers, cache_dir):
    """skopeo's output names every layer and the config, and its blob info
    cache was the fresh one of this run (so it knew of no blob to mount:
    a mount prints the same `Copying blob` line as an upload)."""
    def check(text):
        n, config = count(text, "Copying blob"), count(text, "Copying config")
        if n != layers or config != 1:
            raise Failure(f"expected {layers} `Copying blob` and one `Copying config`:\n{text}")
        cache = os.path.join(cache_dir, "containers", "cache", "blob-info-cache-v1.boltdb")
        if not os.path.exists(cache):
            raise Failure(f"skopeo did not use its fresh blob info cache {cache}")
    return check


def count(text, needle):
    return sum(1 for line in text.splitlines() if needle in line)


def expect_blobs(verb, blobs, forbidden):
    def check(text):
        n = count(text, verb)
        bad = [word for word in forbidden if word in text]
        if n != blobs or bad:
            raise Failure(f"expected {blobs} blobs `{verb}`, got {n}"
                          f"{' and ' + ', '.join(bad) if bad else ''}:\n{text}")
    return check


def interleave(runs, peers):
    """peers: name -> callable returning a result tuple. Alternates which
    peer goes first from run to run."""
    results = {name: [] for name in peers}
    names = list(peers)
    for i in range(runs):
        for name in (names if i % 2 == 0 else names[::-1]):
            results[name].append(peers[name]())
    return results


def line(what, total, results):
    """One line of medians and the ratio, one of CPU time and spread."""
    wall = {name: statistics.median(r[0] for r in rs) for name, rs in results.items()}
    cpu = {name: statistics.median(r[1] for r in rs) for name, rs in results.items()}
    spread = {name: (min(r[0] for r in rs), max(r[0] for r in rs)) for name, rs in results.items()}
    mb = total / 1e6
    print(f"  {what:<5} wharf  median {wall['wharf']:5.2f} s ({mb / wall['wharf']:6.1f} MB/s)"
          f"   skopeo median {wall['skopeo']:5.2f} s ({mb / wall['skopeo']:6.1f} MB/s)"
          f"   wharf/skopeo {wall['wharf'] / wall['skopeo']:.2f}x")
    print(f"        range wharf {spread['wharf'][0]:.2f}-{spread['wharf'][1]:.2f} s"
          f"  skopeo {spread['skopeo'][0]:.2f}-{spread['skopeo'][1]:.2f} s"
          f"   CPU (user+sys) median wharf {cpu['wharf']:.2f} s  skopeo {cpu['skopeo']:.2f} s")


def layer_stats(root, manifest):
    stats = {}
    for blob in [manifest["config"], *manifest["layers"]]:
        st = os.stat(os.path.join(root, "images", "blobs", "sha256", blob["digest"].split(":")[1]))
        stats[blob["digest"]] = (st.st_ino, st.st_mtime_ns, st.st_size)
    return stats


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--wharf", required=True)
    parser.add_argument("--registry", required=True, help="127.0.0.1:PORT")
    parser.add_argument("--state", required=True)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    state = args.state
    peers = Peers(args, state)
    layout = os.path.join(state, "layout")
    manifest_desc, total = make_layout(layout)
    with open(os.path.join(layout, "blobs", "sha256", manifest_desc["digest"].split(":")[1])) as f:
        manifest = json.load(f)
    blobs = 1 + len(manifest["layers"])
    tarball = os.path.join(state, "image.tar")
    make_tarball(layout, manifest_desc, tarball)
    reg = args.registry
    source = f"{reg}/src:1"
    quiet(["skopeo", "copy", "--quiet", "--dest-tls-verify=false",
           f"oci:{layout}:1", f"docker://{source}"], peers.skopeo_env(peers.fresh("seed")))

    wharf_version = run([args.wharf, "--version"], peers.wharf_env(peers.fresh("v")))[2].strip()
    skopeo_version = run(["skopeo", "--version"], os.environ.copy())[2].strip()
    print(f"{wharf_version} vs {skopeo_version}")
    print(f"images: {total / 1e6:.1f} MB in {len(manifest['layers'])} layers,"
          f" registry docker-registry on {reg}, {args.runs} runs each, interleaved")

    # Pull, cold: registry -> a fresh store / a fresh OCI layout.
    last_root = []

    def wharf_pull():
        root = peers.fresh("wharf-pull")
        last_root[:] = [root]
        return run([args.wharf, "pull", source], peers.wharf_env(root),
                   expect_blobs("Pulled", blobs, ["Already exists"]))

    def skopeo_pull():
        run_dir = peers.fresh("skopeo-pull")
        return run(["skopeo", "copy", "--src-tls-verify=false", f"docker://{source}",
                    f"oci:{os.path.join(run_dir, 'layout')}:1"],
                   peers.skopeo_env(run_dir),
                   skopeo_copied(len(manifest["layers"]), run_dir))

    pull_peers = {"wharf": wharf_pull, "skopeo": skopeo_pull}
    interleave(1, pull_peers)  # warm-up, not counted
    line("pull", total, interleave(args.runs, pull_peers))

    # Push, cold: a new repository each run, from a store / a layout that
    # holds the image under no other name on this registry.
    pushes = {"wharf": 0, "skopeo": 0}

    def wharf_push():
        pushes["wharf"] += 1
        root = peers.fresh("wharf-push")
        env = peers.wharf_env(root)
        target = f"{reg}/push{pushes['wharf']}:1"
        quiet([args.wharf, "load", "-i", tarball], env)
        quiet([args.wharf, "tag", WHARF_NAME, target], env)
        quiet([args.wharf, "rmi", WHARF_NAME], env)
        names = run([args.wharf, "images"], env)[2]
        if count(names, reg) != 1:
            raise Failure(f"the store should name one image on {reg}:\n{names}")
        return run([args.wharf, "push", target], env,
                   expect_blobs("Pushed", blobs, ["Mounted", "Already exists"]))

    def skopeo_push(debug=False):
        pushes["skopeo"] += 1
        run_dir = peers.fresh("skopeo-push")
        return run(["skopeo", *(["--debug"] if debug else []), "copy",
                    "--dest-tls-verify=false", f"oci:{layout}:1",
                    f"docker://{reg}/push{pushes['skopeo']}-skopeo:1"],
                   peers.skopeo_env(run_dir),
                   skopeo_copied(len(manifest["layers"]), run_dir))

    # skopeo's own word, once, that it mounts nothing with a fresh cache.
    log = skopeo_push(debug=True)[2]
    if "mount" in log.lower() or "reuse cached location" in log.lower():
        raise Failure(f"skopeo mounted blobs on a cold push:\n{log}")

    push_peers = {"wharf": wharf_push, "skopeo": skopeo_push}
    interleave(1, push_peers)  # warm-up, not counted
    line("push", total, interleave(args.runs, push_peers))

    # Pull of an image already in the store: nothing but the manifest moves.
    root = last_root[0]
    before = layer_stats(root, manifest)
    warm = []
    for _ in range(args.runs):
        warm.append(run([args.wharf, "pull", source], peers.wharf_env(root),
                        expect_blobs("Already exists", blobs, ["Pulled"]))[0])
    if layer_stats(root, manifest) != before:
        raise Failure("a pull of a stored image rewrote a blob")
    again_dir = peers.fresh("skopeo-again")
    again_layout = f"oci:{os.path.join(again_dir, 'layout')}:1"
    skopeo_again = ["skopeo", "copy", "--src-tls-verify=false", f"docker://{source}", again_layout]
    run(skopeo_again, peers.skopeo_env(again_dir))
    again = [run(skopeo_again, peers.skopeo_env(again_dir))[0] for _ in range(args.runs)]
    print(f"  pull of a stored image: wharf {statistics.median(warm):.3f} s, no layer moved"
          f" (each blob `Already exists`, inode and mtime unchanged);"
          f" skopeo copy into the same layout again {statistics.median(again):.3f} s")


if __name__ == "__main__":
    try:
        main()
    except Failure as e:
        print(f"bench-images: {e}", file=sys.stderr)
        sys.exit(1)
