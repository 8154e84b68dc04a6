#!/usr/bin/env bash
# Cluster benchmark (`make bench-cluster`, part of `make bench`; release build): writes the
# "Cluster" section of bench/RESULTS.md. Rows:
#   C1  records/s through a hosted service of ORGS organisations (practices and prisons in pairs,
#       both ways, through a relay) on 1, 2 and 3 nodes over PostgreSQL   (adding nodes must not lower it)
#   C2  the same on one node with each home's SQLite journal             (PostgreSQL ≤ 1.3× SQLite's time)
#   C3  failover: kill -9 of the node holding an organisation's spool lease (its claiming and
#       collecting), KILLS times: until another node holds it, and until a record dropped at the
#       kill is acknowledged (default 6 s lease)                        (target ≤ 10 s)
#   C5  idle load: the same organisations on 3 nodes with the configuration `gatehouse init` writes,
#       nothing to send: PostgreSQL transactions/s per organisation (for docs/SCALE.md's model)
#   C4  `gatehouse status` (process start included) on a PostgreSQL journal of JOURNAL bundles,
#       made with generate_series and cached in bench/work/data         (target ≤ 50 ms)
# Knobs: BENCH_CLUSTER_ORGS (6), BENCH_CLUSTER_RECORDS (1200 per run), BENCH_CLUSTER_KB (50),
# BENCH_RUNS (3), BENCH_CLUSTER_KILLS (5), BENCH_CLUSTER_JOURNAL (10000000),
# BENCH_CLUSTER_ROWS (C1,C2,C3,C4,C5). Not part of `make test`.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
gatehouse=${GATEHOUSE_BIN:-$root/.build/release/gatehouse}
orgs=${BENCH_CLUSTER_ORGS:-6}
records=${BENCH_CLUSTER_RECORDS:-1200}
size_kb=${BENCH_CLUSTER_KB:-50}
runs=${BENCH_RUNS:-3}
kills=${BENCH_CLUSTER_KILLS:-5}
journal=${BENCH_CLUSTER_JOURNAL:-10000000}
rows=${BENCH_CLUSTER_ROWS:-C1,C2,C3,C4,C5}
out=${BENCH_CLUSTER_OUT:-$root/bench/RESULTS.md}
[[ -x $gatehouse ]] || { echo "bench-cluster: $gatehouse is missing; run 'swift build -c release --static-swift-stdlib' (make bench-cluster does)" >&2; exit 1; }
has_row() { [[ ,$rows, == *,$1,* ]]; }

# In /tmp whatever TMPDIR says: as root, PostgreSQL runs as nobody, who must reach its folder.
work=$(mktemp -d /tmp/gatehouse-bench-cluster.XXXXXX)
chmod 755 "$work"
source "$root/scripts/lib/background.sh"
source "$root/scripts/lib/bench-env.sh"
source "$root/scripts/lib/postgres.sh"
source "$root/scripts/lib/pair.sh"
trap 'for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done; wait; pg_stop "$work/pg"; [[ -n ${big:-} ]] && pg_stop "$big"; rm -rf "$work"' EXIT
cd "$work"
log() { echo "bench-cluster: $*" >&2; }
ms() { echo $(($(date +%s%N) / 1000000)); }
lines=() notes=()

data=$(bench_record_files $((records * runs + orgs)) "$size_kb")
port=$(free_port)
pg_start "$work/pg" "$port"
psql() { pg_sql "$work/pg" "$port" "$@"; }
pairs=$((orgs / 2))

# service DIR JOURNAL: ORGS homes under DIR/orgs with their relay (started), DIR/service naming
# them in [tenants]; JOURNAL is a database name (created) or "sqlite".
service() {
    local dir=$1 db=$2 p org relay_port mailbox
    mkdir -p "$dir/orgs" "$dir/service"
    relay_port=$(free_port)
    "$gatehouse" relay init --home "$dir/relay" --listen "127.0.0.1:$relay_port" >/dev/null
    mailbox=$("$gatehouse" relay address --home "$dir/relay")
    [[ $db == sqlite ]] || psql -d gatehouse -c "CREATE DATABASE $db" >/dev/null
    for ((p = 1; p <= pairs; p++)); do
        for org in "$(practice "$p")" "$(prison "$p")"; do
            if [[ -n ${DEFAULTS:-} ]]; then "$gatehouse" init --home "$dir/orgs/$org" --org "$org" --name "Bench $org" --mailbox "$mailbox" >/dev/null
            else RESCAN=1s pair_setup "$dir/orgs/$org" "$org" "Bench $org" "$mailbox"; fi
            [[ $db == sqlite ]] || printf '\n[journal]\nurl = "postgres://gatehouse@127.0.0.1:%s/%s"\npassword_file = "%s"\ntls = "disable"\n' \
                "$port" "$db" "$PG_PASSWORD_FILE" >> "$dir/orgs/$org/gatehouse.toml"
        done
        work=$dir pair_exchange "$dir/orgs/$(practice "$p")" "$dir/orgs/$(prison "$p")"
        for org in "$(practice "$p")" "$(prison "$p")"; do "$gatehouse" relay add --home "$dir/relay" "$dir/$org.card" --yes >/dev/null; done
    done
    printf '[tenants]\nfolder = "%s/orgs"\n' "$dir" > "$dir/service/gatehouse.toml"
    "$gatehouse" relay run --home "$dir/relay" 2>>"$dir/relay.log" &
    pids+=($!)
    for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$relay_port") 2>/dev/null && break; sleep 0.05; done
}

declare -A node_pid
start_node() { # dir node [delay]
    local args=(run --home "$1/service")
    [[ $2 == single ]] || args+=(--node "$2")
    (sleep "${3:-0}"; exec "$gatehouse" "${args[@]}" >>"$1/$2.log" 2>&1) &
    node_pid[$2]=$!
    pids+=($!)
}

# drop_and_wait DIR FIRST COUNT: renames COUNT records (FIRST onwards in the data folder) into
# the outboxes, round robin over the organisations, and prints the ms until every one of them
# is in its sender's spool/sent/ (published at the partner, receipt verified).
drop_and_wait() {
    python3 - "$1" "$data" "$2" "$3" "$pairs" <<'PY'
import os, shutil, sys, time
d, data, first, count, pairs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
names = sorted(os.listdir(data))[first:first + count]
orgs = [(f"A81{p:03d}", f"YOI{p:03d}") for p in range(1, pairs + 1)]
directions = [(a, b) for a, b in orgs] + [(b, a) for a, b in orgs]
staged = []
for i, name in enumerate(names):
    sender, partner = directions[i % len(directions)]
    stage = f"{d}/orgs/{sender}/spool/outbox/{partner}/.{name}.part"
    os.makedirs(os.path.dirname(stage), exist_ok=True)
    shutil.copyfile(f"{data}/{name}", stage)
    staged.append((stage, f"{d}/orgs/{sender}/spool/outbox/{partner}/{name}", f"{d}/orgs/{sender}/spool/sent"))
wanted = {(sent, os.path.basename(final)) for _, final, sent in staged}
start = time.monotonic()
for stage, final, _ in staged:
    os.rename(stage, final)
def done():
    seen = set()
    for sent in {s for s, _ in wanted}:
        for top, _, files in os.walk(sent):
            seen.update((sent, f) for f in files)
    return wanted <= seen
deadline = start + 600
while not done():
    if time.monotonic() > deadline:
        sys.exit("bench-cluster: records not all sent after 600 s")
    time.sleep(0.02)
print(int((time.monotonic() - start) * 1000))
PY
}

# throughput LABEL NODES JOURNAL: median records/s over BENCH_RUNS runs of RECORDS records.
declare -A rate
throughput() {
    local label=$1 n=$2 db=$3 dir=$work/$1 k times=() t
    service "$dir" "$db"
    if [[ $db == sqlite ]]; then start_node "$dir" single; else for ((k = 1; k <= n; k++)); do start_node "$dir" "node-$k"; done; fi
    drop_and_wait "$dir" 0 "$orgs" >/dev/null  # warm-up: schema, leases, SSH sessions
    for ((k = 0; k < runs; k++)); do
        t=$(drop_and_wait "$dir" $((orgs + k * records)) "$records")
        times+=("$t")
        log "$label: $records records in $t ms"
    done
    t=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p")
    rate[$label]=$((records * 1000 / t))
    notes+=("$label: runs of $records records: $(printf '%s ms, ' "${times[@]}" | sed 's/, $//') (median ${rate[$label]} records/s)")
    if [[ $label != pg-3 ]] || ! has_row C3; then
        for k in "${!node_pid[@]}"; do kill -TERM "${node_pid[$k]}" 2>/dev/null || true; wait "${node_pid[$k]}" 2>/dev/null || true; done
        node_pid=()
    fi
}

if has_row C1 || has_row C2 || has_row C3; then
    has_row C2 && throughput sqlite-1 1 sqlite
    for n in 1 2 3; do has_row C1 || { [[ $n == 3 ]] && has_row C3; } || continue; throughput "pg-$n" "$n" "gh_nodes_$n"; done
fi
if has_row C1; then
    base=${rate[pg-1]}
    verdict=met
    for n in 2 3; do ((rate[pg-$n] * 100 >= base * 95)) || verdict=missed; done
    lines+=("| C1 | $records records of ~$size_kb KB, $orgs organisations both ways through a relay, PostgreSQL journal: 1 / 2 / 3 nodes | ${rate[pg-1]} / ${rate[pg-2]} / ${rate[pg-3]} records/s | more nodes not slower (within 5%) | $verdict |")
fi
if has_row C2 && has_row C1; then
    ratio=$(awk "BEGIN { printf \"%.2f\", ${rate[sqlite-1]} / ${rate[pg-1]} }")
    verdict=$(awk "BEGIN { print ($ratio <= 1.30 ? \"met\" : \"missed\") }")
    lines+=("| C2 | the same on one node: SQLite (each home's own) vs PostgreSQL | ${rate[sqlite-1]} vs ${rate[pg-1]} records/s: PostgreSQL takes ${ratio}× SQLite's time | ≤ 1.30× | $verdict |")
fi

if has_row C3; then
    dir=$work/pg-3 first=$(practice 1) lease_ms=() ack_ms=()
    holder() { psql -d gh_nodes_3 -c "SELECT node FROM spool_lease WHERE org = '$first'"; }
    for ((k = 1; k <= kills; k++)); do
        h=$(holder)
        [[ -n ${node_pid[$h]:-} ]] || { log "C3: no live holder of $first's spool lease ($h)"; break; }
        name=$(printf 'failover-%02d.txt' "$k")
        printf 'failover record %s, NHS 9990000%03d\n' "$k" "$k" > "$dir/.$name.part"
        t0=$(ms)
        kill -9 "${node_pid[$h]}"; wait "${node_pid[$h]}" 2>/dev/null || true
        mv "$dir/.$name.part" "$dir/orgs/$first/spool/outbox/$(prison 1)/$name"
        taken=
        while [[ ! -e $dir/orgs/$first/spool/sent/$(prison 1)/$name ]] && ! find "$dir/orgs/$first/spool/sent" -name "$name" | grep -q .; do
            [[ -z $taken && $(holder) != "$h" ]] && taken=$(($(ms) - t0))
            (($(ms) - t0 < 120000)) || { log "C3: $name not acknowledged within 120 s"; exit 1; }
            sleep 0.05
        done
        [[ -n $taken ]] || taken=$(($(ms) - t0))
        lease_ms+=("$taken") ack_ms+=($(($(ms) - t0)))
        log "C3: kill $k of $h: spool lease taken over after $taken ms, record acknowledged after ${ack_ms[-1]} ms"
        start_node "$dir" "$h"  # (its old lease has run out: another node took its spool lease)
        sleep 3
    done
    p50() { printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }
    maxof() { printf '%s\n' "$@" | sort -n | tail -1; }
    verdict=missed
    (($(maxof "${ack_ms[@]}") <= 10000)) && verdict=met
    lines+=("| C3 | failover after kill -9 of the node holding the practice's spool lease, 3 nodes, 6 s lease (${#ack_ms[@]} kills): until another node holds it / until a record dropped at the kill is acknowledged | p50 $(p50 "${lease_ms[@]}") ms, max $(maxof "${lease_ms[@]}") ms / p50 $(p50 "${ack_ms[@]}") ms, max $(maxof "${ack_ms[@]}") ms | ≤ 10 s | $verdict |")
    notes+=("C3: takeover $(printf '%s ' "${lease_ms[@]}")ms; acknowledged $(printf '%s ' "${ack_ms[@]}")ms.")
    for k in "${!node_pid[@]}"; do kill -TERM "${node_pid[$k]}" 2>/dev/null || true; done
fi

if has_row C5; then
    dir=$work/idle
    DEFAULTS=1 service "$dir" gh_idle
    for k in 1 2 3; do start_node "$dir" "idle-$k"; done
    until [[ $(psql -d gh_idle -c "SELECT count(*) FROM spool_lease" 2>/dev/null) == "$orgs" ]]; do sleep 0.2; done
    sleep 5
    commits() { psql -d gh_idle -c "SELECT xact_commit FROM pg_stat_database WHERE datname = 'gh_idle'"; }
    c0=$(commits) t0=$(ms)
    sleep 20
    c1=$(commits) t1=$(ms)
    per=$(awk "BEGIN { printf \"%.1f\", ($c1 - $c0) * 1000 / ($t1 - $t0) / $orgs }")
    log "C5: $per transactions/s per idle organisation"
    lines+=("| C5 | idle load: $orgs organisations on 3 nodes with \`gatehouse init\`'s intervals (poll 1 s, rescan 30 s), nothing to send, 20 s | $per PostgreSQL transactions/s per organisation | (for the model in docs/SCALE.md) | — |")
    for k in 1 2 3; do kill -TERM "${node_pid[idle-$k]}" 2>/dev/null || true; done
fi

if has_row C4; then
    # The journal, built once per schema and rows version and kept (as nobody) in bench/work/data.
    # (Rebuilt when the schema changes, or the rows below do: then raise rows_version.)
    rows_version=1
    key=$( (cat "$root/Sources/GatehouseJournalPostgres/PostgresSchema.swift"; echo "$rows_version") | sha256sum | cut -c1-12)
    big=$bench_cache/pg-journal-$journal-$key
    big_port=$(free_port)
    mkdir -p "$work/gp"
    if [[ -f $big/ready ]]; then
        log "C4: reusing the journal of $journal bundles in $(basename "$big")"
        pg_resume "$big" "$big_port"
        PG_URL="postgres://gatehouse@127.0.0.1:$big_port/gatehouse" PG_PASSWORD_FILE=$big/journal-password
    else
        rm -rf "$big"
        log "C4: building a journal of $journal bundles (cached for the next run)…"
        pg_start "$big" "$big_port"
    fi
    "$gatehouse" init --home "$work/gp" --org A81001 --name "Bench Practice" --mailbox "dir:$work/mailboxes" >/dev/null
    printf '\n[journal]\nurl = "%s"\npassword_file = "%s"\ntls = "disable"\n' "$PG_URL" "$PG_PASSWORD_FILE" >> "$work/gp/gatehouse.toml"
    bigsql() { pg_sql "$big" "$big_port" -d gatehouse "$@"; }
    if [[ ! -f $big/ready ]]; then
        # The daemon creates the schema; then the rows, as row 6 fills SQLite's: 97% acknowledged,
        # each bundle with one file and its transitions.
        "$gatehouse" run --home "$work/gp" --node bench >"$work/schema.log" 2>&1 &
        schema_pid=$!
        for _ in $(seq 300); do [[ $(bigsql -c "SELECT to_regclass('outgoing_count') IS NOT NULL") == t ]] && break; sleep 0.1; done
        sleep 1; kill -TERM "$schema_pid"; wait "$schema_pid" 2>/dev/null || true
        t0=$(ms)
        bigsql <<SQL
SET synchronous_commit = off;
SET maintenance_work_mem = '1GB';
SET work_mem = '256MB';
-- Loaded as a restore would be: no triggers or foreign-key checks, secondary indexes built after,
-- rows in key order.
SET session_replication_role = replica;
CREATE TEMP TABLE idx AS SELECT indexname, indexdef FROM pg_indexes
WHERE tablename IN ('outgoing', 'outgoing_file', 'transition') AND indexname NOT IN (SELECT conname FROM pg_constraint);
DO \$\$ DECLARE r record; BEGIN FOR r IN SELECT indexname FROM idx LOOP EXECUTE 'DROP INDEX ' || quote_ident(r.indexname); END LOOP; END \$\$;
CREATE TEMP TABLE b AS
SELECT i, md5(i::text) AS id,
       CASE WHEN r < 0.97 THEN 'acknowledged' WHEN r < 0.98 THEN 'delivered' WHEN r < 0.985 THEN 'sealed'
            WHEN r < 0.99 THEN 'queued' WHEN r < 0.995 THEN 'failed' ELSE 'expired' END AS state,
       (extract(epoch from now()) * 1000)::bigint - 31536000000 + i * (31536000000 / $journal) AS created
FROM (SELECT i, random() AS r FROM generate_series(1, $journal) i) s;
INSERT INTO outgoing (org, bundle_id, partner, state, created_at, updated_at, expires_at, attempts, next_attempt_at,
                      bundle_sha256, bundle_size, last_error, receipt)
SELECT 'A81001', id, 'YOI123', state, created, created + 400, created + 86400000, CASE WHEN state = 'queued' THEN 0 ELSE 1 END,
       created, CASE WHEN state = 'queued' THEN NULL ELSE md5(id) || md5(id) END,
       CASE WHEN state = 'queued' THEN NULL ELSE 52000 + i % 997 END,
       CASE WHEN state = 'failed' THEN 'YOI123''s receipt says failed: decryption-failed' END,
       CASE WHEN state IN ('acknowledged', 'failed') THEN decode(repeat(md5(id), 26), 'hex') END
FROM b ORDER BY id;
INSERT INTO outgoing_file (org, bundle_id, position, name, size, source_path, work_path)
SELECT 'A81001', id, 0, 'record-' || lpad(i::text, 8, '0') || '.xml', 51000 + i % 997,
       'spool/outbox/YOI123/record-' || lpad(i::text, 8, '0') || '.xml', 'spool/work/out/' || id || '/record.xml'
FROM b ORDER BY id;
INSERT INTO transition (org, bundle_id, direction, state, at, detail)
SELECT 'A81001', id, 'out', s.state, created + s.k * 100, NULL
FROM b CROSS JOIN LATERAL (
    SELECT k, x AS state FROM unnest(CASE WHEN b.state IN ('queued', 'sealed', 'delivered', 'acknowledged')
        THEN (ARRAY['queued', 'sealed', 'delivered', 'acknowledged'])[1:array_position(ARRAY['queued', 'sealed', 'delivered', 'acknowledged'], b.state)]
        ELSE ARRAY['queued', 'sealed', 'delivered', b.state] END) WITH ORDINALITY AS t(x, k)) s;
DO \$\$ DECLARE r record; BEGIN FOR r IN SELECT indexdef FROM idx LOOP EXECUTE r.indexdef; END LOOP; END \$\$;
SET session_replication_role = origin;
DELETE FROM outgoing_count WHERE org = 'A81001';
INSERT INTO outgoing_count SELECT org, state, COUNT(*) FROM outgoing GROUP BY org, state;
VACUUM ANALYZE;
SQL
        touch "$big/ready"
        log "C4: built in $((($(ms) - t0) / 1000)) s ($(du -sh "$big/data" | cut -f1))"
    fi
    some=$(bigsql -c "SELECT bundle_id FROM outgoing WHERE org = 'A81001' ORDER BY bundle_id OFFSET $((journal / 3)) LIMIT 1")
    size=$(du -sh "$big/data" | cut -f1)
    for args in "" "$some" "--json"; do
        times=()
        for _ in 1 2 3 4 5; do
            t0=$(date +%s%N)
            # shellcheck disable=SC2086
            "$gatehouse" status $args --home "$work/gp" >/dev/null
            times+=($((($(date +%s%N) - t0) / 1000000)))
        done
        t=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)
        label="status${args:+ ${args/$some/<bundle-id>}}"
        log "C4: gatehouse $label: $t ms (runs: ${times[*]})"
        lines+=("| C4 | \`gatehouse $label\` on a PostgreSQL journal of $(printf "%'d" "$journal") bundles ($size on disk; process start included) | $t ms | ≤ 50 ms | $( ((t <= 50)) && echo met || echo missed) |")
    done
fi

# The section, in place of the last one in bench/RESULTS.md (bench_rows.py keeps it when it
# rewrites the file).
bench_machine "$work" > machine.md
python3 - "$out" machine.md "$orgs" "$records" "$size_kb" "$runs" "${lines[@]}" -- "${notes[@]}" <<'PY'
import os, re, sys
out, machine, orgs, records, kb, runs = sys.argv[1:7]
rest = sys.argv[7:]
split = rest.index("--")
lines, notes = rest[:split], rest[split + 1:]
section = ["## Cluster: PostgreSQL journal, several nodes", "",
           "Written by `make bench-cluster` (scripts/bench-cluster.sh, release build; part of `make bench`). A hosted",
           f"service of {orgs} organisations (practices and prisons in pairs, `[tenants]`), exchanging both ways through a",
           "relay on 127.0.0.1; nodes are `gatehouse run --node` processes on this machine sharing one throw-away",
           "PostgreSQL (Debian's, default settings) on loopback; every process shares the same 2 cores. Records/s is",
           f"the median over {runs} runs of {records} records of ~{kb} KB renamed into the outboxes at once, timed until",
           "every original is in its sender's `spool/sent/` (published at the partner, signed receipt verified).", "",
           open(machine).read().rstrip("\n"), "",
           "| row | what | figure | target | verdict |", "| --- | --- | --- | --- | --- |", *lines, "",
           *[f"- {n}" for n in notes]]
text = open(out).read() if os.path.exists(out) else "# Gatehouse benchmarks\n"
text = re.sub(r"\n## Cluster: .*?(?=\n## |\Z)", "\n", text, flags=re.S).rstrip("\n")
profile = text.find("\n## Where the time goes")
body = "\n".join(section)
text = (text[:profile] + "\n\n" + body + "\n" + text[profile:]) if profile >= 0 else text + "\n\n" + body
open(out, "w").write(text.rstrip("\n") + "\n")
PY
printf '%s\n' "${lines[@]}"
echo "wrote the Cluster section of $out"
