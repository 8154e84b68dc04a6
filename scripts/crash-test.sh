#!/usr/bin/env bash
# Exactly-once under crashes: two gateways (a practice and a prison) exchange RECORDS records in
# both directions over a mailbox folder while both daemons are killed with SIGKILL at random
# moments and restarted. Then it checks that every record was published exactly once, with
# identical bytes, and acknowledged exactly once, and prints what it found.
#
#   RECORDS=300 KILLS=20 scripts/crash-test.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
gatehouse=${GATEHOUSE_BIN:-$root/.build/debug/gatehouse}
records=${RECORDS:-300}
kills=${KILLS:-20}
timeout=${TIMEOUT:-300}
work=$(mktemp -d -t gatehouse-crash.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]:-}"; do kill -9 "$pid" 2>/dev/null || true; done
    [[ -n ${KEEP:-} ]] || rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
mkdir mailboxes

source "$root/scripts/lib/pair.sh"
for home in practice:A81001:"Crash Test Practice" prison:YOI123:"Crash Test Prison"; do
    IFS=: read -r name org title <<<"$home"
    pair_setup "$name" "$org" "$title" "dir:$work/mailboxes"
    "$gatehouse" config check --home "$name" >/dev/null
done
pair_exchange practice prison

declare -A daemon
start() { "$gatehouse" run --home "$1" >>"$1.log" 2>&1 & daemon[$1]=$!; pids+=("$!"); }
start practice
start prison

killed=0
for ((i = 1; i <= records; i++)); do
    if ((i % 2)); then pair_drop practice YOI123 A81001 "$i"; else pair_drop prison A81001 YOI123 "$i"; fi
    if ((killed < kills)) && ((RANDOM % (records / kills + 1) == 0)); then
        victim=$([[ $((RANDOM % 2)) == 0 ]] && echo practice || echo prison)
        sleep "0.$((RANDOM % 5))"
        kill -9 "${daemon[$victim]}" 2>/dev/null || true
        wait "${daemon[$victim]}" 2>/dev/null || true
        killed=$((killed + 1))
        start "$victim"
    fi
done
while ((killed < kills)); do
    victim=$([[ $((RANDOM % 2)) == 0 ]] && echo practice || echo prison)
    sleep "0.$((RANDOM % 9 + 1))"
    kill -9 "${daemon[$victim]}" 2>/dev/null || true
    wait "${daemon[$victim]}" 2>/dev/null || true
    killed=$((killed + 1))
    start "$victim"
done

# Wait until every record is acknowledged on both sides (or the timeout passes). Records, not
# bundles: records waiting together for a partner travel in one bundle.
deadline=$((SECONDS + timeout))
while ((SECONDS < deadline)); do
    (($(python3 "$root/scripts/lib/acknowledged.py" --gatehouse "$gatehouse" practice prison) >= records)) && break
    sleep 1
done

python3 "$root/scripts/lib/check-exactly-once.py" --gatehouse "$gatehouse" --expected "$work/expected" \
    --title "crash test: $records records, $killed kill -9s" \
    "A81001:$work/practice:YOI123:$work/prison" "YOI123:$work/prison:A81001:$work/practice"
