#!/usr/bin/env bash
# The directory at national scale (issue 16), timed on the release binary; prints the figures
# for bench/RESULTS.md's directory section. Not part of `make test`.
#   1  a log of BENCH_DIRECTORY admissions (100,000) written by the test kit (not timed), with one
#      inclusion proof check timed there (in-process, the library code a gateway runs)
#   2  `network publish` of 1,000 synthetic admissions plus two real ones onto it, into the
#      relay's directory folder                                              (time)
#   3  a gateway's `network sync` of them                                    (bytes fetched, time)
#   4  one ~100 KB record, drop → receipt verified, through a relay: to a pinned partner and to
#      a partner known only from the directory, alternately, BENCH_RECORDS each (p50, p90; the
#      difference is what directory lookups add: target ≤ 2 ms at p50)
#
#   make bench-directory             (BENCH_DIRECTORY=100000 BENCH_RECORDS=60)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
gatehouse=${GATEHOUSE_BIN:-$root/.build/release/gatehouse}
n=${BENCH_DIRECTORY:-100000}
records=${BENCH_RECORDS:-60}
source "$root/scripts/lib/bench-env.sh"
[[ -x $gatehouse ]] || { echo "bench: $gatehouse is missing; run 'swift build -c release --static-swift-stdlib'" >&2; exit 1; }
data=$(bench_record_files $((2 * records + 4)) 100)
mkdir -p "$root/bench/work"
work=$(mktemp -d "$root/bench/work/directory.XXXXXX")
source "$root/scripts/lib/background.sh"
cd "$work"
say() { echo "directory benchmark: $*" | tee -a figures.txt; }
seconds() { python3 -c "import time; print(time.monotonic())"; }

# 1. The network: N admissions published, 1,000 staged (debug test kit; only the proof is timed).
(cd "$root" && GATEHOUSE_BENCH_DIRECTORY=$n GATEHOUSE_BENCH_DIRECTORY_OUT=$work \
    swift test --skip-build --filter "DirectoryBenchmark/writeNetwork" 2>&1) | grep "^directory benchmark:" | tee -a figures.txt
"$gatehouse" network export-card --home authority -o network.card >/dev/null

# A relay with a practice (gp) and a prison (yoi) that pinned each other, and a secure home (hmp,
# YOI456) that the practice knows only from the directory, and that knows the practice the same way.
bench_homes
"$gatehouse" init --home hmp --org YOI456 --name "Bench Secure Home" --mailbox "$("$gatehouse" relay address --home relay)" >/dev/null
"$gatehouse" identity export --home hmp -o hmp.card >/dev/null
"$gatehouse" relay add --home relay hmp.card --yes >/dev/null
for card in gp.card hmp.card; do "$gatehouse" network admit --home authority "$card" --yes >/dev/null; done
cp -a authority/network/log relay/directory
for home in gp hmp; do
    "$gatehouse" network join --home $home network.card --yes >/dev/null
    start=$(seconds)
    "$gatehouse" network sync --home $home --from relay/directory >/dev/null
    [[ $home == gp ]] && say "first sync of the whole log of $n entries: $(python3 -c "print(f'{$(seconds) - $start:.2f}')") s"
done

# 2. Publication of 1,002 admissions.
touch before-publish && sleep 1
start=$(seconds)
"$gatehouse" network publish --home authority --to relay/directory >/dev/null
say "network publish of 1,002 admissions onto $n: $(python3 -c "print(f'{$(seconds) - $start:.2f}')") s"

# 3. The gateway's sync: it reads the checkpoint and the entry bundles that hold new entries.
fetched=$(find relay/directory/checkpoint relay/directory/tile/entries -type f -newer before-publish -printf '%s\n' \
    | awk '{s += $1} END {print s}')
start=$(seconds)
"$gatehouse" network sync --home gp --from relay/directory >/dev/null
say "gateway sync of 1,002 new entries: $((fetched / 1024)) KiB fetched, $(python3 -c "print(f'{$(seconds) - $start:.2f}')") s"
"$gatehouse" network sync --home hmp --from relay/directory >/dev/null

# 4. Drop → receipt through the relay, pinned partner and directory partner alternately.
"$gatehouse" relay run --home relay >relay.log 2>&1 & pids+=($!)
sleep 0.5
for home in gp yoi hmp; do "$gatehouse" run --home $home >$home.log 2>&1 & pids+=($!); done
(python3 - "$work" "$data" "$records" <<'PY'
import glob, os, shutil, statistics, sys, time
work, data, records = sys.argv[1], sys.argv[2], int(sys.argv[3])
sources = sorted(glob.glob(f"{data}/*"))
sent = f"{work}/gp/spool/sent"

def names():
    found = set()
    for folder in glob.glob(f"{sent}/*"):
        found.update(os.listdir(folder))
    return found

def drop(partner, source, timeout=60):
    outbox = f"{work}/gp/spool/outbox/{partner}"
    os.makedirs(outbox, exist_ok=True)
    name = f"{partner}-{os.path.basename(source)}"
    shutil.copy2(source, f"{outbox}/.{name}.part")
    start = time.monotonic()
    os.rename(f"{outbox}/.{name}.part", f"{outbox}/{name}")
    while name not in names():
        if time.monotonic() - start > timeout:
            sys.exit(f"directory benchmark: no receipt for {name} after {timeout} s (see {work}/*.log)")
        time.sleep(0.001)
    return time.monotonic() - start

# Two records each to warm the sessions and the directory cache, then alternate.
for source in sources[:2]:
    drop("YOI123", source)
    drop("YOI456", source)
pinned, directory = [], []
for i in range(records):
    pinned.append(drop("YOI123", sources[4 + 2 * i]))
    directory.append(drop("YOI456", sources[5 + 2 * i]))

def p(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))] * 1000

print(f"directory benchmark: 100 KB record, drop → receipt verified through a relay, {records} each, alternately: "
      f"pinned partner p50 {p(pinned, 50):.1f} ms (p90 {p(pinned, 90):.1f}), directory partner p50 "
      f"{p(directory, 50):.1f} ms (p90 {p(directory, 90):.1f}): the directory adds {p(directory, 50) - p(pinned, 50):+.1f} ms "
      f"at p50")
PY
) | tee -a figures.txt

# bench/RESULTS.md: a marked section (as bench_section.py writes them), replaced in place when
# present, else added at the end; `make bench` keeps it.
bench_machine "$root/bench/work" > machine.md
python3 - "$root/bench/RESULTS.md" figures.txt machine.md "$n" "$records" <<'PY'
import re, sys
out, figures, machine, n, records = sys.argv[1:6]
heading = "## The directory at national scale"
lines = [l.removeprefix("directory benchmark: ").rstrip("\n") for l in open(figures) if l.strip()]
section = [heading, "",
           "Written by `make bench-directory` (scripts/bench-directory.sh) on the release binary; not part of",
           "`make test`. The log of admissions is made by the test kit (GatehouseKitTests `DirectoryBenchmark`),",
           "which also times the inclusion proof in-process (the library code a gateway runs, in a debug build:",
           "an upper bound); publish and sync are the `gatehouse network` commands, timed from outside. The",
           "drop → receipt rows run a practice, a prison it pinned and a secure home it knows only from the",
           "directory (and which knows the practice only from it), through one relay, one record at a time,",
           "alternately, timed from the rename into `spool/outbox/ODS/` until the original is in `spool/sent/`.",
           f"BENCH_DIRECTORY={n}, BENCH_RECORDS={records}.", ""]
section += [f"- {l}" for l in lines] + [""] + open(machine).read().rstrip("\n").splitlines()
body = "\n".join(["<!-- bench-directory -->", *section, "<!-- /bench-directory -->"])
try:
    text = open(out).read()
except FileNotFoundError:
    text = "# Gatehouse benchmarks\n"
marked = re.compile(r"<!-- bench-directory -->\n.*?<!-- /bench-directory -->", re.S)
text = marked.sub(lambda _: body, text) if marked.search(text) else text.rstrip("\n") + "\n\n" + body + "\n"
open(out, "w").write(text)
print("wrote the directory section of bench/RESULTS.md")
PY
