#!/usr/bin/env bash
# Exactly-once for a hosted service on PostgreSQL: ORGS organisations (practices and prisons in
# pairs), each a home in one shared folder, all served by NODES `gatehouse run` processes
# ([tenants] in a service folder, one PostgreSQL journal). RECORDS records go both ways while
# random nodes are killed with SIGKILL (and started again after their lease); with
# PG_RESTART=1 PostgreSQL itself restarts halfway. Then every record must be published exactly
# once, with identical bytes, and acknowledged exactly once. Finally it kills the node holding
# the first practice's spool lease (claiming and collecting) FAILOVERS times (default 3) and
# prints how long the takeover took (p50, max).
#
# With RELAY=1 the mailboxes are behind a `gatehouse relay run` (OpenSSH sshd on loopback) instead
# of a shared folder.
#
#   ORGS=20 NODES=3 RECORDS=1000 KILLS=15 PG_RESTART=1 RELAY=1 LEASE=3 scripts/cluster-test.sh
#
# It prints how long it took; with more than two organisations the checker's verdict is per tenant.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
gatehouse=${GATEHOUSE_BIN:-$root/.build/debug/gatehouse}
records=${RECORDS:-200}
kills=${KILLS:-10}
nodes=${NODES:-2}
orgs=${ORGS:-2}
timeout=${TIMEOUT:-300}
lease=${LEASE:-3}  # seconds; short, so that takeovers (and this test) are quick
# In /tmp whatever TMPDIR says: as root, PostgreSQL runs as nobody, who must reach its folder.
work=$(mktemp -d /tmp/gatehouse-cluster.XXXXXX)
chmod 755 "$work"
source "$root/scripts/lib/postgres.sh"
source "$root/scripts/lib/pair.sh"
pids=()
cleanup() {
    for pid in "${pids[@]:-}"; do kill -9 "$pid" 2>/dev/null || true; done
    pg_stop "$work/pg"
    [[ -n ${KEEP:-} ]] || rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
mkdir mailboxes orgs service
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
pg_start "$work/pg" "$port"

mailbox="dir:$work/mailboxes"
if [[ -n ${RELAY:-} ]]; then
    relay_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "$gatehouse" relay init --home relay --listen "127.0.0.1:$relay_port" >/dev/null
    mailbox=$("$gatehouse" relay address --home relay)
fi

# Pair p: practice A81<p> and prison YOI<p>, each with the shared journal in its own settings.
pairs=$((orgs / 2 > 0 ? orgs / 2 : 1))
for ((p = 1; p <= pairs; p++)); do
    for org in "$(practice "$p")" "$(prison "$p")"; do
        # Polling: the node holding an organisation's spool lease finds new records at its rescan.
        RESCAN=1s pair_setup "orgs/$org" "$org" "Cluster Test $org" "$mailbox"
        printf '\n[journal]\nurl = "%s"\npassword_file = "%s"\ntls = "disable"\nlease = "%ss"\n' \
            "$PG_URL" "$PG_PASSWORD_FILE" "$lease" >> "orgs/$org/gatehouse.toml"
        "$gatehouse" config check --home "orgs/$org" >/dev/null
    done
    pair_exchange "orgs/$(practice "$p")" "orgs/$(prison "$p")"
    if [[ -n ${RELAY:-} ]]; then
        for org in "$(practice "$p")" "$(prison "$p")"; do
            "$gatehouse" relay add --home relay "$work/$org.card" --yes >/dev/null
        done
    fi
done
if [[ -n ${RELAY:-} ]]; then
    "$gatehouse" relay run --home relay 2>>relay.log &
    pids+=("$!")
    for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$relay_port") 2>/dev/null && break; sleep 0.05; done
fi
printf '[tenants]\nfolder = "%s/orgs"\n' "$work" > service/gatehouse.toml

declare -A daemon
start() { # node [delay]: a killed node's id is refused until its old lease has run out
    (sleep "${2:-0}"; exec "$gatehouse" run --home service --node "$1" >>"$1.log" 2>&1) &
    daemon[$1]=$!
    pids+=("$!")
}
for ((n = 1; n <= nodes; n++)); do start "node-$n"; done

killed=0
kill_node() { # node
    kill -9 "${daemon[$1]}" 2>/dev/null || true
    wait "${daemon[$1]}" 2>/dev/null || true
    start "$1" $((lease + 1))
}
for ((i = 1; i <= records; i++)); do
    p=$(((i / 2) % pairs + 1))
    if ((i % 2)); then
        pair_drop "orgs/$(practice "$p")" "$(prison "$p")" "$(practice "$p")" "$i"
    else
        pair_drop "orgs/$(prison "$p")" "$(practice "$p")" "$(prison "$p")" "$i"
    fi
    if [[ -n ${PG_RESTART:-} ]] && ((i == records / 2)); then
        pg_stop "$work/pg"
        pg_resume "$work/pg" "$port"
        echo "cluster test: PostgreSQL restarted after $i records"
    fi
    if ((killed < kills)) && ((RANDOM % (records / kills + 1) == 0)); then
        sleep "0.$((RANDOM % 5))"
        kill_node "node-$((RANDOM % nodes + 1))"
        killed=$((killed + 1))
    fi
done
while ((killed < kills)); do sleep "0.$((RANDOM % 9 + 1))"; kill_node "node-$((RANDOM % nodes + 1))"; killed=$((killed + 1)); done

# Failover: kill the node holding the first practice's spool lease and time how long until
# another node holds it (it takes the lease at its next claim or collection after expiry). The
# killed node comes back only afterwards: under the same id it would take its lease back.
psql_value() { pg_sql "$work/pg" "$port" -d gatehouse -c "$1"; }
first=$(practice 1)
times=()
sleep $((lease + 2))  # every node killed above is back
for ((f = 0; f < ${FAILOVERS:-3} && nodes > 1; f++)); do
    holder=$(psql_value "SELECT node FROM spool_lease WHERE org = '$first'")
    [[ -n $holder && -n ${daemon[$holder]:-} ]] || break
    started=$(date +%s%N)
    kill -9 "${daemon[$holder]}" 2>/dev/null || true
    wait "${daemon[$holder]}" 2>/dev/null || true
    pair_drop "orgs/$first" "$(prison 1)" "$first" "$((100000 + f))"
    records=$((records + 1))
    while [[ $(psql_value "SELECT node FROM spool_lease WHERE org = '$first'") == "$holder" ]]; do
        (($(date +%s%N) - started < 60000000000)) || { echo "cluster test: FAIL: no takeover within 60 s"; exit 1; }
        sleep 0.1
    done
    times+=($((($(date +%s%N) - started) / 1000000)))
    start "$holder"
    sleep $((lease + 2))  # the node is back before the next round
done
if ((${#times[@]})); then
    sorted=($(printf '%s\n' "${times[@]}" | sort -n))
    echo "cluster test: failover after kill -9 of the spool lease holder (lease ${lease}s): p50 ${sorted[$((${#sorted[@]} / 2))]} ms, max ${sorted[-1]} ms, ${#sorted[@]} runs"
fi

homes=() directions=()
for ((p = 1; p <= pairs; p++)); do
    a=$(practice "$p") b=$(prison "$p")
    homes+=("orgs/$a" "orgs/$b")
    directions+=("$a:$work/orgs/$a:$b:$work/orgs/$b" "$b:$work/orgs/$b:$a:$work/orgs/$a")
done
# Waits on the database (one query, not a status process per organisation); the checker below
# reads every organisation's status.
deadline=$((SECONDS + timeout))
while ((SECONDS < deadline)); do
    (($(psql_value "SELECT count(*) FROM outgoing_file f JOIN outgoing o USING (org, bundle_id)
                    WHERE o.state = 'acknowledged'" 2>/dev/null || echo 0) >= records)) && break
    sleep 2
done
echo "cluster test: every receipt in after $SECONDS s (drops, kill -9s, failovers and the wait)"

python3 "$root/scripts/lib/check-exactly-once.py" --gatehouse "$gatehouse" --expected "$work/expected" \
    --title "cluster test: $records records, $((pairs * 2)) organisations on $nodes nodes (PostgreSQL${RELAY:+, through a relay}), $killed kill -9s" \
    "${directions[@]}" || {
    # What CI shows of a failure: each bundle not acknowledged, its journal history and what
    # the nodes logged about it (the work folder is gone once the test ends).
    psql_value "SELECT org || ' ' || bundle_id || ' ' || state || ': ' || coalesce(last_error, '')
                FROM outgoing WHERE state <> 'acknowledged'" | while read -r org bundle rest; do
        echo "  not acknowledged: $org $bundle $rest"
        psql_value "SELECT '    ' || org || ' ' || direction || ' ' || state || ' ' || coalesce(detail, '') FROM transition
                    WHERE bundle_id = '$bundle' ORDER BY id" 2>/dev/null || true
        grep -h "$bundle" node-*.log | tail -n 40 | sed 's/^/    /'
    done
    exit 1
}
