# Starts the registry as crates/testkit/src/registry.rs starts it: plain
# HTTP on loopback, filesystem storage, deletes enabled. Sourced by the
# benchmarks; `start_registry STATE` sets $address and $registry_pid (the
# caller stops it). The port is picked by binding to port 0 and letting
# go; a clash is retried.
registry_bin=/usr/bin/docker-registry

answers() {
    python3 - "$1" <<'EOF'
import sys, urllib.request
try:
    urllib.request.urlopen(f"http://{sys.argv[1]}/v2/", timeout=2)
except Exception:
    sys.exit(1)
EOF
}

start_registry() {
    local state=$1
    address=""
    registry_pid=""
    for _attempt in 1 2 3; do
        port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        candidate="127.0.0.1:$port"
        cat >"$state/registry.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $state/registry
  delete:
    enabled: true
http:
  addr: $candidate
EOF
        "$registry_bin" serve "$state/registry.yml" </dev/null >"$state/registry.log" 2>&1 &
        registry_pid=$!
        for _ in $(seq 200); do
            if answers "$candidate"; then address=$candidate; break; fi
            kill -0 "$registry_pid" 2>/dev/null || break
            sleep 0.05
        done
        [[ -n $address ]] && return 0
        kill "$registry_pid" 2>/dev/null || true
        wait "$registry_pid" 2>/dev/null || true
        registry_pid=""
    done
    echo "$registry_bin did not come up on 127.0.0.1; its log:" >&2
    cat "$state/registry.log" >&2
    return 1
}
