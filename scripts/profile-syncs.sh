#!/usr/bin/env bash
# Counts the system calls that make things durable on a small record's way: two gateways (and,
# with MAILBOX=relay, the relay's sshd and sftp-server) run under `strace -f -y`, RECORDS
# records of ~100 KB are dropped one after another (each waits for its receipt), and the
# fsync, fdatasync, rename and openat calls made while they travelled are counted per record and
# per process, and the synced paths of one record listed in order. Not part of `make test`.
#
#   MAILBOX=dir|relay RECORDS=20 scripts/profile-syncs.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
gatehouse=${GATEHOUSE_BIN:-$root/.build/release/gatehouse}
mailbox=${MAILBOX:-dir}
records=${RECORDS:-20}
source "$root/scripts/lib/bench-env.sh"
data=$(bench_record_files $((records + 2)) 100)
work=$(mktemp -d -t gatehouse-syncs.XXXXXX)
source "$root/scripts/lib/background.sh"
cd "$work"
calls=fsync,fdatasync,rename,renameat,renameat2,openat

traced() { # NAME ARGS...: runs gatehouse ARGS under strace into NAME.trace
    local name=$1
    shift
    strace -f -y -tt -e trace=$calls -o "$work/$name.trace" "$gatehouse" "$@" >"$work/$name.log" 2>&1 &
    pids+=($!)
}

if [[ $mailbox == relay ]]; then
    bench_homes
    traced relay relay run --home relay
    sleep 1
else
    mkdir mailboxes
    for line in "gp A81001 Profile-Practice" "yoi YOI123 Profile-Prison"; do
        read -r home org name <<<"$line"
        "$gatehouse" init --home "$home" --org "$org" --name "$name" --mailbox "dir:$work/mailboxes" >/dev/null
        "$gatehouse" identity export --home "$home" -o "$home.card" >/dev/null
    done
    "$gatehouse" partners add --home gp yoi.card --yes >/dev/null
    "$gatehouse" partners add --home yoi gp.card --yes >/dev/null
fi
traced gp run --home gp
traced yoi run --home yoi

python3 - "$work" "$data" "$records" <<'PY'
import collections, glob, os, re, shutil, sys, time
work, data, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
outbox = f"{work}/gp/spool/outbox/YOI123"
os.makedirs(outbox, exist_ok=True)
windows = []
for i, source in enumerate(sorted(glob.glob(f"{data}/*"))[:count + 2]):
    name = os.path.basename(source)
    shutil.copyfile(source, f"{outbox}/.{name}.part")
    start = time.time()
    os.rename(f"{outbox}/.{name}.part", f"{outbox}/{name}")
    while not glob.glob(f"{work}/gp/spool/sent/*/{name}"):
        if time.time() - start > 60:
            sys.exit(f"profile: {name} not acknowledged within 60 s (see {work}/gp.log)")
        time.sleep(0.001)
    time.sleep(0.2)  # what follows the receipt (evidence, audit) belongs to this record
    if i >= 2:
        windows.append((start, time.time()))
first, last = windows[0][0], windows[-1][1]

line_re = re.compile(r"^(\d+)\s+(\d+):(\d+):(\d+\.\d+) (\w+)\((.*)$")
def seconds(h, m, s):
    day = time.localtime(first)
    midnight = time.mktime((day.tm_year, day.tm_mon, day.tm_mday, 0, 0, 0, 0, 0, -1))
    return midnight + int(h) * 3600 + int(m) * 60 + float(s)

per_process, one_record = {}, []
for trace in sorted(glob.glob(f"{work}/*.trace")):
    role = os.path.basename(trace)[:-len(".trace")]
    counts = collections.Counter()
    with open(trace, errors="replace") as f:
        for line in f:
            m = line_re.match(line)
            if not m or "resumed>" in line:
                continue
            at = seconds(*m.group(2, 3, 4))
            if not first <= at <= last:
                continue
            call, args = m.group(5), m.group(6)
            if call == "openat" and "O_CREAT" not in args and "O_DIRECTORY" not in args:
                counts["openat (read)"] += 1
                continue
            counts[call] += 1
            if windows[-1][0] <= at <= windows[-1][1] and call in ("fsync", "fdatasync", "rename", "renameat2", "renameat"):
                path = re.findall(r"<([^>]*)>", args) or re.findall(r'"([^"]*)"', args)
                shown = " -> ".join(p.replace(work + "/", "") for p in (path[:1] if call.startswith("f") else path[:2]))
                one_record.append((at, role, call, shown))
    per_process[role] = counts

n = len(windows)
print(f"{n} records of ~100 KB through a {'relay' if os.path.exists(work + '/relay') else 'dir:'} mailbox; calls per record:")
keys = ["fsync", "fdatasync", "rename", "renameat", "renameat2", "openat", "openat (read)"]
print("| process | " + " | ".join(keys) + " |")
print("| --- |" + " --- |" * len(keys))
for role, counts in per_process.items():
    print(f"| {role} | " + " | ".join(f"{counts[k] / n:.1f}" for k in keys) + " |")
print(f"\nthe last record's syncs and renames, in order (ms after its drop):")
for at, role, call, shown in sorted(one_record):
    print(f"  {(at - windows[-1][0]) * 1000:7.1f}  {role:5} {call:9} {shown}")
PY
