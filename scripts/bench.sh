#!/usr/bin/env bash
# Gatehouse against DIY baselines (gzip, age, OpenSSH's sftp; for rows 1-2 also the streaming pipe
# tar | zstd -T0 | age | ssh cat, and back), back to back on the same data, through a relay on
# 127.0.0.1; writes bench/RESULTS.md with this machine's facts. Rows:
#   1  1 GiB compressible export, drop → published → receipt verified   (target: faster than the pipe,
#                                                                         ≤ 0.35× the naive baseline)
#   2  1 GiB incompressible, the same                                   (target: faster than the pipe,
#                                                                         ≤ 0.15× the naive baseline)
#   3  2,000 records of ~50 KB dropped at once                          (target ≥ 2,000 records/s)
#   4  one 100 KB record, drop → receipt, warm connections              (target p50 ≤ 30 ms, p99 ≤ 100 ms)
#   5  peak memory of each gateway in rows 1-2 and with 10,000 queued   (target ≤ 64 MiB)
#   6  startup with 100,000 files waiting; status on 1,000,000 bundles  (targets ≤ 10 s, ≤ 50 ms)
#   7  one 100 KB record through a `dir:` mailbox (no relay)             (target p50 ≤ 20 ms)
# Knobs: BENCH_SIZE_MB (1024), BENCH_RUNS (3), BENCH_RECORDS (200, rows 4 and 7), BENCH_ROWS (all, e.g. 3,4,7),
# BENCH_MANY (2000, row 3), BENCH_QUEUED (100000, row 6; row 5 queues the first 10,000),
# BENCH_JOURNAL (1000000, row 6). Test data is cached in bench/work/data (git-ignored).
# Not part of `make test`.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
gatehouse=${GATEHOUSE_BIN:-$root/.build/release/gatehouse}
size_mb=${BENCH_SIZE_MB:-1024}
runs=${BENCH_RUNS:-3}
records=${BENCH_RECORDS:-200}
rows=${BENCH_ROWS:-1,2,3,4,5,6,7}
many=${BENCH_MANY:-2000}
queued=${BENCH_QUEUED:-100000}
journal=${BENCH_JOURNAL:-1000000}
results=$root/bench/work/results
source "$root/scripts/lib/background.sh"
source "$root/scripts/lib/bench-env.sh"
[[ -x $gatehouse ]] || { echo "bench: $gatehouse is missing; run 'swift build -c release --static-swift-stdlib' (make bench does)" >&2; exit 1; }

has_row() { [[ ,$rows, == *,$1,* ]]; }
big=none records_50k=none records_100k=none small=none
if has_row 1 || has_row 2; then big=$(bench_big_files "$size_mb"); fi
if has_row 3; then records_50k=$(bench_record_files "$many" 50); fi
if has_row 4 || has_row 7; then records_100k=$(bench_record_files $((records + 3)) 100); fi
if has_row 5 || has_row 6; then small=$(bench_record_files "$queued" 1); fi

# Homes live beside the cached data (records are copied into the outbox, outside the timings).
mkdir -p "$root/bench/work"
work=$(mktemp -d "$root/bench/work/run.XXXXXX")
cd "$work"
bench_homes

python3 - "$work/config.json" "${sftp_opts[@]}" -- "${ssh_opts[@]}" <<PY
import json, sys
split = sys.argv.index("--")
json.dump(dict(
    gatehouse="$gatehouse", work="$work", runs=$runs, records=$records, journal_bundles=$journal,
    rows=[int(r) for r in "$rows".split(",") if r], results="$results", cache="$bench_cache",
    user="$user", age_recipient="$age_recipient", sftp_opts=sys.argv[2:split],
    ssh_opts=sys.argv[split + 1:], pipe_sshd_config="$pipe_sshd_config",
    compressible="$big/records.xml", random="$big/scans.bin", records_50k="$records_50k",
    records_100k="$records_100k", small="$small",
    knobs=dict(BENCH_SIZE_MB=$size_mb, BENCH_RUNS=$runs, BENCH_RECORDS=$records, BENCH_MANY=$many,
               BENCH_QUEUED=$queued, BENCH_JOURNAL=$journal),
), open(sys.argv[1], "w"), indent=1)
PY

# In the background so that a SIGTERM to this script reaches it (cleanup stops it; it stops the daemons).
python3 "$root/scripts/lib/bench_rows.py" run "$work/config.json" & pids+=($!)
trap 'exit 143' TERM
wait $!
bench_machine "$root/bench/work" > machine.md
python3 "$root/scripts/lib/bench_rows.py" assemble "$results" machine.md "$root/bench/RESULTS.md"
echo "wrote bench/RESULTS.md"
