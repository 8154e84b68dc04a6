# Sourced by scripts that start the relay and gateways in the background (demo, benchmarks).
# Expects $work (a temporary folder). Every pid added to `pids` is stopped with SIGTERM and
# waited for on exit, then $work is removed.
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# A TCP port on 127.0.0.1 that nothing listens on now.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
