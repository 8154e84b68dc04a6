#!/usr/bin/env bash
# Exactly-once with several nodes on PostgreSQL: a practice and a prison, each served by NODES
# `gatehouse run` nodes sharing the organisation's home folder and one PostgreSQL journal,
# exchange RECORDS records both ways while random nodes are killed with SIGKILL (and started
# again). A dead node's work is taken over when its lease runs out. Then every record must be
# published exactly once, with identical bytes, and acknowledged exactly once. It also kills the
# node holding the practice's spool lease FAILOVERS times (default 3) and prints how long the
# takeover took (p50, max).
#
# With PG_RESTART=1, PostgreSQL itself is stopped and started again halfway through.
#
#   RECORDS=200 KILLS=10 NODES=2 PG_RESTART=1 scripts/cluster-test.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
gatehouse=${GATEHOUSE_BIN:-$root/.build/debug/gatehouse}
records=${RECORDS:-200}
kills=${KILLS:-10}
nodes=${NODES:-2}
timeout=${TIMEOUT:-300}
work=$(mktemp -d -t gatehouse-cluster.XXXXXX)
chmod 755 "$work"
source "$root/scripts/lib/postgres.sh"
pids=()
cleanup() {
    for pid in "${pids[@]:-}"; do kill -9 "$pid" 2>/dev/null || true; done
    pg_stop "$work/pg"
    [[ -n ${KEEP:-} ]] || rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
mkdir mailboxes
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
pg_start "$work/pg" "$port"

source "$root/scripts/lib/pair.sh"
for home in practice:A81001:"Cluster Test Practice" prison:YOI123:"Cluster Test Prison"; do
    IFS=: read -r name org title <<<"$home"
    # Polling: the node holding the spool lease finds new records at its next rescan.
    RESCAN=1s pair_setup "$name" "$org" "$title" "dir:$work/mailboxes"
    printf '\n[journal]\nurl = "%s"\npassword_file = "%s"\ntls = "disable"\nlease = "3s"\n' \
        "$PG_URL" "$PG_PASSWORD_FILE" >> "$name/gatehouse.toml"
    "$gatehouse" config check --home "$name" >/dev/null
done
pair_exchange practice prison

# A node named like practice-1 serves the home `practice`.
declare -A daemon
start() { # node
    "$gatehouse" run --home "${1%-*}" --node "$1" >>"$1.log" 2>&1 &
    daemon[$1]=$!
    pids+=("$!")
}
all=()
for ((n = 1; n <= nodes; n++)); do all+=("practice-$n" "prison-$n"); done
for node in "${all[@]}"; do start "$node"; done

# A killed node comes back under the same id: refused until its old lease has run out, so it
# is restarted after the lease (the others take its work over meanwhile).
killed=0
kill_one() {
    local victim=${all[$((RANDOM % ${#all[@]}))]}
    kill -9 "${daemon[$victim]}" 2>/dev/null || true
    wait "${daemon[$victim]}" 2>/dev/null || true
    killed=$((killed + 1))
    (sleep 4; exec "$gatehouse" run --home "${victim%-*}" --node "$victim" >>"$victim.log" 2>&1) &
    daemon[$victim]=$!
    pids+=("$!")
}
for ((i = 1; i <= records; i++)); do
    if ((i % 2)); then pair_drop practice YOI123 A81001 "$i"; else pair_drop prison A81001 YOI123 "$i"; fi
    if [[ -n ${PG_RESTART:-} ]] && ((i == records / 2)); then
        pg_stop "$work/pg"
        pg_resume "$work/pg" "$port"
        echo "cluster test: PostgreSQL restarted after $i records"
    fi
    if ((killed < kills)) && ((RANDOM % (records / kills + 1) == 0)); then
        sleep "0.$((RANDOM % 5))"
        kill_one
    fi
done
while ((killed < kills)); do sleep "0.$((RANDOM % 9 + 1))"; kill_one; done

# Failover: kill the node holding the practice's spool lease (claiming and collecting) and time
# how long until another node holds it, FAILOVERS times.
psql_value() { (cd "$work/pg" && "$(pg_bin)/psql" -X -q -t -A -h "$work/pg" -p "$port" -U gatehouse -d gatehouse -c "$1"); }
times=()
for ((f = 0; f < ${FAILOVERS:-3}; f++)); do
    holder=$(psql_value "SELECT node FROM spool_lease WHERE org = 'A81001'")
    [[ -n $holder && -n ${daemon[$holder]:-} ]] || break
    started=$(date +%s%N)
    kill -9 "${daemon[$holder]}" 2>/dev/null || true
    wait "${daemon[$holder]}" 2>/dev/null || true
    # Another node takes the lease at its next claim or collection after the lease ran out.
    pair_drop practice YOI123 A81001 "$((100000 + f))"
    while [[ $(psql_value "SELECT node FROM spool_lease WHERE org = 'A81001'") == "$holder" ]]; do sleep 0.1; done
    times+=($((($(date +%s%N) - started) / 1000000)))
    (sleep 4; exec "$gatehouse" run --home practice --node "$holder" >>"$holder.log" 2>&1) &
    daemon[$holder]=$!
    pids+=("$!")
    records=$((records + 1))
done
if ((${#times[@]})); then
    sorted=($(printf '%s\n' "${times[@]}" | sort -n))
    echo "cluster test: failover after kill -9 of the spool lease holder (lease 3s): p50 ${sorted[$((${#sorted[@]} / 2))]} ms, max ${sorted[-1]} ms, ${#sorted[@]} runs"
fi

deadline=$((SECONDS + timeout))
while ((SECONDS < deadline)); do
    (($(python3 "$root/scripts/lib/acknowledged.py" --gatehouse "$gatehouse" practice prison) >= records)) && break
    sleep 1
done

python3 "$root/scripts/lib/check-exactly-once.py" --gatehouse "$gatehouse" --expected "$work/expected" \
    --title "cluster test: $records records, $nodes nodes per organisation on PostgreSQL, $killed kill -9s" \
    "A81001:$work/practice:YOI123:$work/prison" "YOI123:$work/prison:A81001:$work/practice"
