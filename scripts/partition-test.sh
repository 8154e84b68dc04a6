#!/usr/bin/env bash
# A node cut off from PostgreSQL stops within its lease, and another node takes its work over.
#
# Two network namespaces (iproute2), so the host's own network is never touched: "core" holds
# PostgreSQL, the relay and node-h; "part" holds node-p, which reaches PostgreSQL over one veth
# pair and the relay over another. Two pairs of organisations are served by both nodes; node-p
# starts first and holds every spool lease. With records on the way, the PostgreSQL link is cut
# (its core end set down: node-p's packets are dropped silently, as in a real partition, while
# the relay stays reachable). Then:
#   - from its lease's end (cut + lease + GRACE) until the heal, node-p makes no side effect:
#     strace sees no rename, unlink, mkdir or file opened for writing, and no write of
#     MAX_WRITE bytes or more to a pipe or socket (an upload: the SFTP write of a bundle goes
#     down the pipe to ssh and out of its socket; SSH keep-alives are a few dozen bytes);
#   - node-h holds every spool lease and acknowledges every record dropped so far, before the heal;
#   - after the heal, RECORDS more go through and every record is published exactly once with
#     identical bytes and acknowledged exactly once (scripts/lib/check-exactly-once.py).
# Needs root and network namespaces; prints "SKIPPED: reason" and exits 0 where they are missing.
#
#   RECORDS=20 LEASE=3 scripts/partition-test.sh          (KEEP=1 keeps the folder)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
gatehouse=${GATEHOUSE_BIN:-$root/.build/debug/gatehouse}
records=${RECORDS:-20}
lease=${LEASE:-3}
grace=${GRACE:-0.5}
max_write=${MAX_WRITE:-1000}
timeout=${TIMEOUT:-120}

skip() { echo "partition test: SKIPPED: $*"; exit 0; }

# --- Outside: the namespaces, then this script again inside "core" --------------------------
if [[ -z ${PARTITION_CORE:-} ]]; then
    [[ $(id -u) -eq 0 ]] || skip "network namespaces need root (ip netns add); run as root"
    command -v ip >/dev/null || skip "iproute2 (ip) is not installed (scripts/install-deps.sh)"
    command -v strace >/dev/null || skip "strace is not installed (scripts/install-deps.sh)"
    core=ghcore-$$ part=ghpart-$$
    trap 'ip netns del "$core" 2>/dev/null || true; ip netns del "$part" 2>/dev/null || true' EXIT
    ip netns add "$core" 2>/dev/null || skip "ip netns add failed: no network namespaces here (a container without CAP_SYS_ADMIN?)"
    ip netns add "$part" || skip "ip netns add failed"
    # pg0/pg1: node-p's way to PostgreSQL; mb0/mb1: its way to the relay.
    ip -n "$core" link add pg0 type veth peer name pg1 netns "$part" 2>/dev/null \
        || skip "veth pairs cannot be created here (no veth support in this kernel?)"
    ip -n "$core" link add mb0 type veth peer name mb1 netns "$part"
    status=0
    PARTITION_CORE=$core PARTITION_PART=$part ip netns exec "$core" bash "$0" || status=$?
    exit "$status"
fi

# --- Inside "core" -----------------------------------------------------------------------------
core=$PARTITION_CORE part=$PARTITION_PART
in_part() { ip netns exec "$part" "$@"; }
pg_host=10.231.0.1 relay_host=10.231.0.2
ip link set lo up
ip addr add "$pg_host/32" dev lo
ip addr add "$relay_host/32" dev lo
ip addr add 10.231.1.1/30 dev pg0 && ip link set pg0 up
ip addr add 10.231.2.1/30 dev mb0 && ip link set mb0 up
ip -n "$part" link set lo up
ip -n "$part" addr add 10.231.1.2/30 dev pg1 && ip -n "$part" link set pg1 up
ip -n "$part" addr add 10.231.2.2/30 dev mb1 && ip -n "$part" link set mb1 up
ip -n "$part" route add "$pg_host/32" via 10.231.1.1
ip -n "$part" route add "$relay_host/32" via 10.231.2.1

work=$(mktemp -d /tmp/gatehouse-partition.XXXXXX)
chmod 755 "$work"
source "$root/scripts/lib/postgres.sh"
source "$root/scripts/lib/pair.sh"
pids=()
cleanup() {
    for pid in "${pids[@]:-}"; do kill -9 "$pid" 2>/dev/null || true; done
    pg_stop "$work/pg"
    [[ -n ${KEEP:-} ]] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
started=$(date +%s.%N)
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.3f\", $1 }"; }  # calc EXPRESSION: floating point (bc may be missing)
before() { awk "BEGIN { exit !($1 < $2) }"; }     # before A B: A < B
say() { printf '[%5.1fs] %s\n' "$(calc "$(now) - $started")" "$*"; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
PG_LISTEN=$pg_host pg_start "$work/pg" "$port"
psql_value() { pg_sql "$work/pg" "$port" -d gatehouse -c "$1"; }

mkdir orgs service
"$gatehouse" relay init --home relay --listen "$relay_host:$port" >/dev/null
mailbox=$("$gatehouse" relay address --home relay)
homes=() directions=() all=()
for p in 1 2; do
    a=$(practice "$p") b=$(prison "$p")
    for org in "$a" "$b"; do
        RESCAN=1s pair_setup "orgs/$org" "$org" "Partition Test $org" "$mailbox"
        printf '\n[journal]\nurl = "%s"\npassword_file = "%s"\ntls = "disable"\nlease = "%ss"\n' \
            "$PG_URL" "$PG_PASSWORD_FILE" "$lease" >> "orgs/$org/gatehouse.toml"
    done
    pair_exchange "orgs/$a" "orgs/$b"
    for org in "$a" "$b"; do "$gatehouse" relay add --home relay "$work/$org.card" --yes >/dev/null; done
    homes+=("orgs/$a" "orgs/$b") all+=("$a" "$b")
    directions+=("$a:$work/orgs/$a:$b:$work/orgs/$b" "$b:$work/orgs/$b:$a:$work/orgs/$a")
done
printf '[tenants]\nfolder = "%s/orgs"\n' "$work" > service/gatehouse.toml
"$gatehouse" relay run --home relay 2>>relay.log &
pids+=("$!")
for _ in $(seq 100); do (exec 3<>"/dev/tcp/$relay_host/$port") 2>/dev/null && break; sleep 0.05; done

# node-p, traced: every call that changes a file, with its time (its children, ssh, too).
ip netns exec "$part" strace -f -qq -ttt -y --seccomp-bpf -o "$work/node-p.trace" \
    -e trace=write,writev,sendto,sendmsg,rename,renameat,renameat2,unlink,unlinkat,rmdir,mkdir,mkdirat,link,linkat,symlink,symlinkat,openat,creat,truncate,ftruncate \
    "$gatehouse" run --home service --node node-p >>node-p.log 2>&1 &
tracer=$!
# The node itself is strace's child: killing strace alone would leave it running, untraced.
for _ in $(seq 100); do node_p=$(ps -o pid= --ppid "$tracer" | tr -d ' ' | head -1 || true); [[ -n $node_p ]] && break; sleep 0.05; done
pids+=("$node_p" "$tracer")
held_by() { psql_value "SELECT count(*) FROM spool_lease WHERE node = '$1'" 2>/dev/null || echo 0; }
deadline=$((SECONDS + 60))
until [[ $(held_by node-p) == 4 ]]; do
    ((SECONDS < deadline)) || { echo "partition test: FAIL: node-p never held the 4 spool leases"; tail node-p.log; exit 1; }
    sleep 0.2
done
"$gatehouse" run --home service --node node-h >>node-h.log 2>&1 &
pids+=("$!")
say "node-p (cut off later) holds the 4 spool leases; node-h started"

dropped=0
drop() { # count
    local k p
    for ((k = 0; k < $1; k++)); do
        dropped=$((dropped + 1)); p=$((dropped % 2 + 1))
        if ((dropped % 4 < 2)); then pair_drop "orgs/$(practice "$p")" "$(prison "$p")" "$(practice "$p")" "$dropped"
        else pair_drop "orgs/$(prison "$p")" "$(practice "$p")" "$(prison "$p")" "$dropped"; fi
    done
}
acknowledged() { python3 "$root/scripts/lib/acknowledged.py" --gatehouse "$gatehouse" "${homes[@]}"; }
wait_acknowledged() { # what deadline-seconds
    local until=$((SECONDS + $2))
    while (($(acknowledged) < dropped)); do
        ((SECONDS < until)) || { echo "partition test: FAIL: $1: $(acknowledged) of $dropped acknowledged after $2 s"; exit 1; }
        sleep 0.5
    done
}
drop "$records"
wait_acknowledged "before the cut" "$timeout"
say "$dropped records acknowledged before the cut"

# The cut, with records on their way: node-p is claiming and collecting.
drop "$records"
sleep 0.3
relay_bytes() { in_part cat /sys/class/net/mb1/statistics/tx_bytes; }
cut=$(now)
ip link set pg0 down
say "PostgreSQL link cut (node-p's packets to it are dropped)"
drop "$records"
quiet_from=$(calc "$cut + $lease + $grace")
while before "$(now)" "$quiet_from"; do sleep 0.1; done
bytes_before=$(relay_bytes)
until [[ $(held_by node-h) == 4 ]]; do
    before "$(now)" "$(calc "$cut + 60")" || { echo "partition test: FAIL: node-h did not take the spool leases within 60 s"; exit 1; }
    sleep 0.1
done
takeover=$(calc "$(now) - $cut")
say "node-h holds every spool lease $(printf '%.1f' "$takeover") s after the cut (lease ${lease} s)"
drop "$records"
wait_acknowledged "during the partition" "$timeout"
say "node-h acknowledged all $dropped records while node-p was cut off"
heal=$(now)
relay_sent=$(($(relay_bytes) - bytes_before))
ip link set pg0 up
say "link healed"
drop "$records"
wait_acknowledged "after the heal" "$timeout"

# Side effects of node-p between the end of its lease and the heal.
effects=$(python3 - "$work/node-p.trace" "$quiet_from" "$heal" "$max_write" <<'PY'
import re, sys
trace, start, end, largest = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
writes = ("O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND")
unfinished = {}  # pid -> the first half of a call another thread interrupted
for line in open(trace, errors="replace"):
    parts = line.split(None, 2)
    if len(parts) < 3 or not parts[1].replace(".", "").isdigit():
        continue
    at, call = float(parts[1]), parts[2].rstrip()
    if call.endswith("<unfinished ...>"):
        unfinished[parts[0]] = call[:-len("<unfinished ...>")]
        continue
    resumed = re.match(r"<\.\.\. \w+ resumed>", call)
    if resumed:
        call = unfinished.pop(parts[0], "") + call[resumed.end():]
    if not start <= at <= end or call.startswith(("+++", "---")):
        continue
    if call.startswith("openat(") and not any(w in call for w in writes):
        continue
    if call.startswith(("write", "send")):  # to the log file, or a small message down a pipe or socket
        size = re.search(r"= (\d+)$", call.rstrip())
        if not re.match(r"\w+\(\d+<(pipe|socket):", call) or not size or int(size.group(1)) < largest:
            continue
    print(line.rstrip())
PY
)
node_p_state=$(kill -0 "$node_p" 2>/dev/null && echo "still running" || echo "exited")
say "node-p after the heal: $node_p_state; last lines of its log:"
tail -3 node-p.log | sed 's/^/    /'
problems=0
if [[ -n $effects ]]; then
    echo "partition test: node-p changed files or uploaded after its lease ran out:"
    echo "$effects" | head -20 | sed 's/^/    /'
    problems=1
fi
echo "partition test: from $(calc "$quiet_from - $cut") s after the cut to the heal" \
    "($(calc "$heal - $quiet_from") s): node-p made $(echo -n "$effects" | grep -c . || true) file changes or uploads," \
    "its link towards the relay carried $relay_sent bytes (SSH keep-alives); takeover $(printf '%.1f' "$takeover") s"
python3 "$root/scripts/lib/check-exactly-once.py" --gatehouse "$gatehouse" --expected "$work/expected" \
    --title "partition test: $dropped records, 4 organisations on 2 nodes, node-p cut off from PostgreSQL and healed" \
    "${directions[@]}" || problems=1
((problems == 0)) || { echo "FAIL: partition test"; exit 1; }
echo "PASS: partition test: node-p made no side effect after its lease; node-h took its work over"
