#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target under fuzz/corpus/<target>/.

Deterministic (mtimes 0, owners 0, gzip without name or time), so running
it again changes nothing. It only writes its own seeds: the inputs kept
from crashes (`crash-*`) stay. Seeds are small and meaningful: well-formed
inputs of each format, plus a few of the attacks the parsers refuse.
"""

import gzip
import hashlib
import io
import json
import os
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")

WASM = b"\0asm\x01\0\0\0"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
WASM_CONFIG = "application/vnd.wasm.config.v0+json"
LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
ID = "0123456789abcdef" * 4
# Tars end after their two zero blocks, not at a 10 KiB record.
tarfile.RECORDSIZE = 512


def sha(data):
    return hashlib.sha256(data).hexdigest()


def digest(data):
    return "sha256:" + sha(data)


def dumps(value):
    return json.dumps(value, separators=(",", ":")).encode()


def gz(data):
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, filename="") as f:
        f.write(data)
    return out.getvalue()


def tar(entries):
    """entries: (name, kind, data_or_link, mode); kind in file/dir/sym/hard."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as t:
        for name, kind, payload, mode in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 0
            info.mode = mode
            if kind == "file":
                info.size = len(payload)
                t.addfile(info, io.BytesIO(payload))
                continue
            info.type = {
                "dir": tarfile.DIRTYPE,
                "sym": tarfile.SYMTYPE,
                "hard": tarfile.LNKTYPE,
                "fifo": tarfile.FIFOTYPE,
            }[kind]
            if kind in ("sym", "hard"):
                info.linkname = payload
            t.addfile(info)
    return out.getvalue()


def write(target, name, data):
    directory = os.path.join(CORPUS, target)
    os.makedirs(directory, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def descriptor(media_type, data, **extra):
    return dict(mediaType=media_type, digest=digest(data), size=len(data), **extra)


# What a Docker-shaped Wasm image holds.
LAYER = tar([("app.wasm", "file", WASM, 0o755)])
CONFIG = dumps({
    "architecture": "wasm", "os": "wasi", "created": "2024-01-01T00:00:00Z",
    "config": {"Entrypoint": ["/app.wasm"], "Cmd": ["--serve"], "Env": ["PATH=/", "A=b"],
               "WorkingDir": "/", "Labels": {"org.opencontainers.image.title": "app"}},
    "rootfs": {"type": "layers", "diff_ids": [digest(LAYER)]},
})
MANIFEST = dumps({
    "schemaVersion": 2, "mediaType": OCI_MANIFEST,
    "config": descriptor(OCI_CONFIG, CONFIG), "layers": [descriptor(LAYER_TAR, LAYER)],
})
ARTIFACT = dumps({
    "schemaVersion": 2, "mediaType": OCI_MANIFEST,
    "config": descriptor(WASM_CONFIG, b"{}"),
    "layers": [descriptor("application/wasm", WASM,
                          annotations={"org.opencontainers.image.title": "app.wasm"})],
})
INDEX = dumps({
    "schemaVersion": 2, "mediaType": OCI_INDEX,
    "manifests": [
        descriptor(OCI_MANIFEST, b"linux", platform={"architecture": "amd64", "os": "linux"}),
        descriptor(OCI_MANIFEST, MANIFEST, platform={"architecture": "wasm", "os": "wasip1"}),
    ],
})


def references():
    for i, text in enumerate([
        "alpine",
        "docker.io/library/alpine:3.19",
        "index.docker.io/user/app:v1.2-rc_3",
        "localhost:5000/app:1",
        "[::1]:5000/team/app:latest",
        "ghcr.io/owner/repo@" + digest(b"x"),
        "registry.example.com:443/a/b/c:tag@" + digest(b"y"),
        "../../etc/passwd",
    ]):
        write("reference", f"{i}", text)


def manifests():
    write("manifest", "oci-manifest.json", MANIFEST)
    write("manifest", "artifact.json", ARTIFACT)
    write("manifest", "index.json", INDEX)
    write("manifest", "docker-list.json", INDEX.replace(OCI_INDEX.encode(), DOCKER_LIST.encode()))
    write("manifest", "docker-v2.json", MANIFEST.replace(OCI_MANIFEST.encode(), DOCKER_MANIFEST.encode()))


def image_configs():
    write("image_config", "docker.json", CONFIG)
    write("image_config", "artifact.json", b"{}")
    write("image_config", "linux.json", dumps({"architecture": "amd64", "os": "linux",
                                               "config": {"Cmd": None, "Env": None}}))


def layers():
    write("layer", "files.tar", tar([
        ("app", "dir", None, 0o755),
        ("app/app.wasm", "file", WASM, 0o755),
        ("app/README", "file", b"hello\n", 0o644),
        ("app/link", "sym", "app.wasm", 0o777),
        ("app/hard", "hard", "app/app.wasm", 0o644),
    ]))
    write("layer", "files.tar.gz", gz(LAYER))
    write("layer", "whiteouts.tar", tar([
        ("etc", "dir", None, 0o755),
        ("etc/.wh..wh..opq", "file", b"", 0o644),
        ("etc/.wh.passwd", "file", b"", 0o644),
        ("etc/hosts", "file", b"127.0.0.1 localhost\n", 0o644),
    ]))
    write("layer", "climb.tar", tar([("../outside", "file", b"x", 0o644)]))
    write("layer", "link-out.tar", tar([
        ("a", "dir", None, 0o755),
        ("a/out", "sym", "../../sentinel", 0o777),
        ("a/out/keep", "file", b"x", 0o644),
    ]))
    write("layer", "fifo.tar", tar([("pipe", "fifo", None, 0o644)]))
    # Each link stays inside by its text; together, m leads out.
    write("layer", "symlink-chain-out.tar", tar([
        ("a", "dir", None, 0o755),
        ("a/l", "sym", "..", 0o777),
        ("m", "sym", "a/l/..", 0o777),
    ]))
    # The structured target reads any bytes; a few to start from.
    write("layer_entries", "0", bytes(range(64)))
    write("layer_entries", "1", b"\x01\x02\x03\x00\x04\x05a/b\x00\x01\x02")


def dockerfiles():
    files = {
        "copy": "FROM scratch\nCOPY app.wasm /app.wasm\nENTRYPOINT [\"/app.wasm\"]\n",
        "full": "# syntax=docker/dockerfile:1\n# escape=\\\nARG VERSION=0\nFROM scratch\n"
                "ARG NAME\nENV APP=${NAME:-x} V=$VERSION\nLABEL version=\"$VERSION\" \\\n  name=$APP\n"
                "WORKDIR /srv/$APP\nCOPY --chmod=755 static/ ./static/\nCOPY *.tmp run.sh ./\n"
                "COPY link-in /bin/app.wasm\nEXPOSE 8080/tcp 9090\nSTOPSIGNAL SIGTERM\n"
                "USER nobody\nCMD /bin/app.wasm --port 8080\n",
        "escape": "# escape=`\nFROM scratch\nCOPY [\"app.wasm\", \"comp.wasm\", \"/mods/\"]\n"
                  "ENTRYPOINT [\"/mods/comp.wasm\"]\n",
        "refused": "FROM scratch\nCOPY ../etc/passwd /\nCOPY link-out /x\nRUN echo hi\n",
        "vars": "FROM scratch\nENV A=${UNSET:?must be set}\n",
    }
    for name, text in files.items():
        write("dockerfile", name, b"\x00" + text.encode())
    write("dockerfile", "artifact", b"\x01" + files["copy"].encode())
    write("dockerfile", "wasip2-epoch", b"\x0e" + files["escape"].encode())


def dockerignores():
    write("dockerignore", "basic", "*.tmp\n!keep.tmp\n# comment\nnode_modules\n\0a.tmp\nkeep.tmp\nnode_modules/x/y\n")
    write("dockerignore", "globs", "**/*.go\n!**/main.go\nbuild/**\n/abs/?x\n\0cmd/a.go\ncmd/main.go\nbuild/out/bin\nabs/ax\n")
    write("dockerignore", "deep", "**/**/a/**/b\n!./a/b\n\0a/b\nx/a/y/b\na/a/a/b\n")


def oci_specs():
    spec = {
        "ociVersion": "1.1.0",
        "process": {"terminal": False, "user": {"uid": 0, "gid": 0}, "args": ["/app/main.wasm", "--x"],
                    "env": ["PATH=/usr/bin", "NOEQUALS", "=empty", "K=v=w"], "cwd": "/app"},
        "root": {"path": "rootfs", "readonly": True},
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/data", "type": "bind", "source": "/tmp", "options": ["rbind", "ro"]},
            {"destination": "/etc/hosts", "type": "bind", "source": "/etc/hosts", "options": ["bind"]},
        ],
        "annotations": {"io.kubernetes.cri.container-type": "container",
                        "io.kubernetes.cri.sandbox-id": "abc"},
        "linux": {"resources": {"memory": {"limit": 67108864}}, "namespaces": [{"type": "pid"}]},
    }
    write("oci_spec", "runc.json", json.dumps(spec, indent=1))
    smart = dict(spec, process=dict(spec["process"], args=["up.wasm"], cwd="/app"),
                 annotations={"module.wasm.image/variant": "compat-smart"})
    write("oci_spec", "compat-smart.json", dumps(smart))
    escape = dict(spec, process=dict(spec["process"], args=["../../../app/out"], cwd="/app/lib/root"),
                  annotations={"run.oci.handler": "wasm"}, linux={"resources": {"memory": {"limit": -1}}})
    write("oci_spec", "escape.json", dumps(escape))
    write("oci_spec", "nulls.json", dumps({"process": {"args": None, "env": None, "cwd": None},
                                           "root": None, "mounts": None}))


def challenges():
    write("www_authenticate", "docker-hub",
          'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
          'scope="repository:library/alpine:pull"\n')
    write("www_authenticate", "basic", 'Basic realm="Registry Realm"\nBearer realm=x\n')
    write("www_authenticate", "escapes", 'bearer  realm="https://a/\\"q\\"" , service=svc,error="insufficient_scope"\n')


def credentials():
    write("credentials", "auth.json", dumps({"auths": {"https://index.docker.io/v1/": {"auth": "dXNlcjpwYXNz"},
                                                        "localhost:5000": {"username": "u", "password": "p"}},
                                              "credsStore": "desktop"}))
    write("credentials", "bad-auth.json", dumps({"auths": {"registry.example.com": {"auth": "!!"}}}))
    write("credentials", "not-object.json", dumps({"auths": []}))
    write("credentials", "empty", b"  \n")


def records():
    record = {
        "id": ID, "name": "web", "created": "2024-05-01T10:00:00.123456789Z", "image": "app:latest",
        "run": {"program": "/var/lib/wharf/rootfs/x/app.wasm", "args": ["app.wasm", "-v"],
                "env": [["A", "b"]], "volumes": [{"host": "/srv", "guest": "/data", "read_only": True}],
                "workdir": "/", "memory_limit": 1 << 30},
        "restart": {"name": "on-failure", "max": 3}, "auto_remove": False,
        "log": {"max_size": 10485760, "max_files": 3},
    }
    state = {"status": "running", "pid": 1, "started_at": "2024-05-01T10:00:01Z", "finished_at": None,
             "exit_code": None, "restarts": 0, "error": None}
    write("container_record", "running", dumps(record) + b"\0" + dumps(state) + b"\0" + ID.encode())
    exited = dict(state, status="exited", pid=None, exit_code=137, finished_at="2024-05-01T11:00:00Z")
    always = dict(record, restart={"name": "always"}, log={"max_size": 1, "max_files": 0})
    write("container_record", "exited", dumps(always) + b"\0" + dumps(exited) + b"\0" + ID.encode() + b"\n")
    write("container_record", "wrong-id", dumps(dict(record, id="f" * 64)) + b"\0" + dumps(state))


def log_lines():
    def line(text, stream="stdout", time="2024-05-01T10:00:00.000000001Z"):
        return dumps({"log": text, "stream": stream, "time": time}) + b"\n"
    old = line("first\n") + line("oops\n", "stderr")
    older = line("second\n") + b'{"log":"cut sh'
    current = line("third\n") + line("no newline at the end", time="2024-05-01T10:00:02Z") + b"{\"log\":\"par"
    appended = b"tial\",\"stream\":\"stdout\",\"time\":\"2024-05-01T10:00:03Z\"}\n" + line("after\n")
    write("log_lines", "rotated", old + b"\0" + older + b"\0" + current + b"\0" + appended)
    write("log_lines", "not-utf8", line("a\n") + b"\xff\xfe garbage\n" + line("b\n") + b"\0\0" + line("c\n"))


def archives():
    blobs = {sha(b): b for b in (LAYER, CONFIG, MANIFEST)}
    index = dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        descriptor(OCI_MANIFEST, MANIFEST, annotations={
            "io.containerd.image.name": "docker.io/library/app:1",
            "org.opencontainers.image.ref.name": "1"})]})
    layout = [("oci-layout", "file", b'{"imageLayoutVersion":"1.0.0"}', 0o644),
              ("index.json", "file", index, 0o644),
              ("blobs", "dir", None, 0o755), ("blobs/sha256", "dir", None, 0o755)]
    layout += [(f"blobs/sha256/{h}", "file", b, 0o644) for h, b in sorted(blobs.items())]
    write("archive", "oci.tar", tar(layout))
    docker = dumps([{"Config": f"blobs/sha256/{sha(CONFIG)}", "RepoTags": ["app:1", "localhost:5000/app:2"],
                     "Layers": [f"blobs/sha256/{sha(LAYER)}"]}])
    repositories = dumps({"app": {"1": sha(CONFIG)}})
    write("archive", "docker.tar.gz", gz(tar(layout + [("manifest.json", "file", docker, 0o644),
                                                        ("repositories", "file", repositories, 0o644)])))
    legacy = dumps([{"Config": f"{sha(CONFIG)}.json", "RepoTags": None, "Layers": ["abc/layer.tar"]}])
    write("archive", "legacy.tar", tar([
        (f"{sha(CONFIG)}.json", "file", CONFIG, 0o644),
        ("abc", "dir", None, 0o755),
        ("abc/layer.tar", "sym", "../blobs/sha256/" + sha(LAYER), 0o777),
        ("blobs/sha256/" + sha(LAYER), "file", LAYER, 0o644),
        ("manifest.json", "file", legacy, 0o644),
    ]))
    write("archive", "tampered.tar", tar([(f"blobs/sha256/{sha(b'real')}", "file", b"fake", 0o644),
                                          ("../escape", "file", b"", 0o644)]))


def main():
    for make in (references, manifests, image_configs, layers, dockerfiles, dockerignores,
                 oci_specs, challenges, credentials, records, log_lines, archives):
        make()


if __name__ == "__main__":
    main()
