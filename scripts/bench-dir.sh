#!/usr/bin/env bash
# One ~100 KB record at a time through a `dir:` mailbox (a shared folder): two gateways, each
# record timed from its rename into spool/outbox/YOI123/ until the original is in spool/sent/
# (published at the facility, its signed receipt verified at the practice). Runs with
# `collector.watch = "auto"` (inotify) and then "poll" (every `poll_interval`, 1 s) on the same
# records; prints p50 and p90 of each. Not part of `make test`.
#
#   BENCH_RECORDS=40 scripts/bench-dir.sh        (BENCH_POLLED: records in the polling run, 10)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
gatehouse=${GATEHOUSE_BIN:-$root/.build/release/gatehouse}
records=${BENCH_RECORDS:-40}
polled=${BENCH_POLLED:-10}
source "$root/scripts/lib/bench-env.sh"
[[ -x $gatehouse ]] || { echo "bench: $gatehouse is missing; run 'swift build -c release --static-swift-stdlib'" >&2; exit 1; }
data=$(bench_record_files $((records + 2)) 100)
mkdir -p "$root/bench/work"
work=$(mktemp -d "$root/bench/work/dir.XXXXXX")
source "$root/scripts/lib/background.sh"
cd "$work"

# run WATCH COUNT: fresh homes over a fresh mailbox folder, COUNT records (after two to warm up).
run() {
    local count=$1 home org name
    rm -rf gp yoi mailboxes gp.card yoi.card && mkdir mailboxes
    for line in "gp A81001 Bench-Practice" "yoi YOI123 Bench-Prison"; do
        read -r home org name <<<"$line"
        "$gatehouse" init --home "$home" --org "$org" --name "$name" --mailbox "dir:$work/mailboxes" >/dev/null
        sed -i "s/^watch = .*/watch = \"$WATCH\"/" "$home/gatehouse.toml"
        "$gatehouse" identity export --home "$home" -o "$home.card" >/dev/null
    done
    "$gatehouse" partners add --home gp yoi.card --yes >/dev/null
    "$gatehouse" partners add --home yoi gp.card --yes >/dev/null
    "$gatehouse" run --home gp >gp.log 2>&1 & pids+=($!)
    "$gatehouse" run --home yoi >yoi.log 2>&1 & pids+=($!)
    python3 - "$work" "$data" "$count" "$WATCH" <<'PY'
import glob, os, shutil, statistics, sys, time
work, data, count, watch = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
outbox = f"{work}/gp/spool/outbox/YOI123"
os.makedirs(outbox, exist_ok=True)
times = []
for i, source in enumerate(sorted(glob.glob(f"{data}/*"))[:count + 2]):
    name = os.path.basename(source)
    # Copied (a hard link is a second name, refused), then renamed in as producers should.
    shutil.copyfile(source, f"{outbox}/.{name}.part")
    start = time.monotonic()
    os.rename(f"{outbox}/.{name}.part", f"{outbox}/{name}")
    while not glob.glob(f"{work}/gp/spool/sent/*/{name}"):
        if time.monotonic() - start > 30:
            sys.exit(f"bench: {name} not acknowledged within 30 s (see {work}/gp.log)")
        time.sleep(0.001)
    if i >= 2:
        times.append((time.monotonic() - start) * 1000)
times.sort()
p90 = times[min(len(times) - 1, int(len(times) * 0.9))]
print(f"collector.watch = \"{watch}\": {len(times)} records of ~100 KB through a dir: mailbox, drop -> receipt verified: "
      f"p50 {statistics.median(times):.1f} ms, p90 {p90:.1f} ms")
PY
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    pids=()
}

WATCH=auto run "$records"
WATCH=poll run "$polled"
