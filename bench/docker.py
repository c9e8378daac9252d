"""`docker run --rm` (or podman's) of a Wasm hello under wharf-runc against
busybox echo under runc, alternating, in one daemon; prints medians and the
ratio. Invoked by scripts/bench-docker."""

import argparse
import shlex
import statistics
import subprocess
import time


def timed(argv):
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def quantile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", required=True, help="docker or podman")
    # Each a shell-quoted string, given as --flag=STRING.
    parser.add_argument("--client", required=True,
                        help="the client command, with its global flags")
    parser.add_argument("--wasm", required=True,
                        help="run flags and image of the Wasm hello")
    parser.add_argument("--linux", required=True,
                        help="run flags, image and argv of busybox echo")
    parser.add_argument("--passthrough",
                        help="run flags, image and argv of busybox echo under wharf-runc")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    client = shlex.split(args.client)
    peers = {
        "wasm": [*client, "run", "--rm", "--network", "none", *shlex.split(args.wasm)],
        "busybox": [*client, "run", "--rm", "--network", "none", *shlex.split(args.linux)],
    }
    if args.passthrough:
        peers["busybox/wharf-runc"] = [*client, "run", "--rm", "--network", "none",
                                       *shlex.split(args.passthrough)]
    for argv in peers.values():  # warm: images, cache, page cache
        timed(argv)
    results = {name: [] for name in peers}
    for _ in range(args.runs):
        for name, argv in peers.items():
            results[name].append(timed(argv))
    print(f"\n{args.engine} run --rm, {args.runs} runs each, alternating")
    for name, times in results.items():
        print(f"  {name:<18} median {statistics.median(times) * 1000:7.1f} ms"
              f"   p10 {quantile(times, 0.1) * 1000:7.1f}   p90 {quantile(times, 0.9) * 1000:7.1f}")
    ratio = statistics.median(results["wasm"]) / statistics.median(results["busybox"])
    print(f"  wasm under wharf-runc / busybox under runc: {ratio:.2f}x")
    if args.passthrough:
        ratio = (statistics.median(results["busybox/wharf-runc"])
                 / statistics.median(results["busybox"]))
        print(f"  busybox under wharf-runc / busybox under runc: {ratio:.2f}x (pass-through)")


if __name__ == "__main__":
    main()
