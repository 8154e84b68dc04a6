#!/usr/bin/env bash
# Through a gatehouse relay on loopback (sshd running gatehouse sftp-server), back to back in the
# same run:
#   1. upload of one large bundle: `gatehouse deliver` (our SFTP client over OpenSSH's ssh) against
#      OpenSSH's own `sftp` (put under a temporary name, then rename), each on a new connection;
#   2. drop-to-receipt latency of 100 KB records between two running gateways over warm
#      connections, against age + a new-connection `sftp put` + age -d (and no receipt).
# Prints medians and ratios and writes bench/SFTP-RESULTS.md. Not part of `make test`.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
gatehouse=${GATEHOUSE_BIN:-$root/.build/release/gatehouse}
size_mb=${BENCH_SIZE_MB:-1024}
runs=${BENCH_RUNS:-3}
records=${BENCH_RECORDS:-100}
results=$root/bench/SFTP-RESULTS.md
work=$(mktemp -d -t gatehouse-bench-sftp.XXXXXX)
source "$root/scripts/lib/background.sh"
cd "$work"

port=$(free_port)
"$gatehouse" relay init --home relay --listen "127.0.0.1:$port" >/dev/null
address=$("$gatehouse" relay address --home relay)
"$gatehouse" init --home gp --org A81001 --name "Bench Practice" --mailbox "$address" >/dev/null
"$gatehouse" init --home yoi --org YOI123 --name "Bench Prison" --mailbox "$address" >/dev/null
for home in gp yoi; do "$gatehouse" identity export --home $home -o $home.card >/dev/null; done
"$gatehouse" partners add --home yoi gp.card --yes >/dev/null
"$gatehouse" partners add --home gp yoi.card --yes >/dev/null
for home in gp yoi; do "$gatehouse" relay add --home relay $home.card --yes >/dev/null; done
"$gatehouse" relay run --home relay 2> relay.log & pids+=($!)
sleep 0.5

# OpenSSH's sftp as the practice: same key, same pinned host key, same options as Gatehouse.
key=$(ls gp/keys/ssh-*.key)
echo "[127.0.0.1]:$port $(awk '{print $1, $2}' relay/ssh_host_ed25519_key.pub)" > known_hosts
sftp_opts=(-q -F /dev/null -i "$key" -P "$port" -o BatchMode=yes -o IdentitiesOnly=yes
           -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$work/known_hosts" -o GlobalKnownHostsFile=/dev/null)
user=$(id -un)

echo "sealing a ${size_mb} MiB incompressible bundle…"
head -c $((size_mb * 1048576)) /dev/urandom > scans.bin
"$gatehouse" seal --home gp --to YOI123 --no-self -o big.ghb scans.bin >/dev/null
bytes=$(stat -c %s big.ghb)

python3 - "$gatehouse" "$runs" "$bytes" "$user" "$work" "${sftp_opts[@]}" > upload.txt <<'PY'
import glob, os, statistics, subprocess, sys, time
gatehouse, runs, size, user, work, *opts = sys.argv[1:]
runs, size = int(runs), int(size)
inbox = f"{work}/relay/mailboxes/YOI123"
def clear():
    for f in glob.glob(f"{inbox}/*") + glob.glob(f"{inbox}/.*"): os.unlink(f)
def ours():
    # `deliver` first verifies the whole bundle's outer signature (it delivers only what this
    # organisation sealed); the upload's own time, connection included, is what it reports.
    out = subprocess.run([gatehouse, "deliver", "--home", f"{work}/gp", f"{work}/big.ghb"], check=True, capture_output=True, text=True).stdout
    return float(out.split(" in ")[1].split(" s ")[0])
def openssh():
    batch = f"{work}/batch"
    with open(batch, "w") as f: f.write(f"put {work}/big.ghb /YOI123/.up.part\nrename /YOI123/.up.part /YOI123/up.ghb\n")
    subprocess.run(["sftp", "-b", batch, *opts, f"{user}@127.0.0.1"], check=True, capture_output=True)
times = {"ours": [], "openssh": []}
for _ in range(runs):
    for name, run in (("ours", ours), ("openssh", openssh)):
        clear(); start = time.monotonic(); reported = run()
        times[name].append(reported if reported is not None else time.monotonic() - start)
        assert os.path.getsize(glob.glob(f"{inbox}/*.ghb")[0]) == size
clear()
ours_s, theirs_s = statistics.median(times["ours"]), statistics.median(times["openssh"])
print(f"| `gatehouse deliver` (our SFTP client over ssh) | {ours_s:.2f} s | {size/ours_s/1e6:.0f} MB/s | {theirs_s/ours_s:.2f}× OpenSSH's throughput |")
print(f"| OpenSSH `sftp` put + rename | {theirs_s:.2f} s | {size/theirs_s/1e6:.0f} MB/s | 1.00× |")
PY
cat upload.txt

echo "drop-to-receipt latency: ${records} records of 100 KB over warm connections…"
"$gatehouse" run --home gp > gp.log 2>&1 & pids+=($!)
"$gatehouse" run --home yoi > yoi.log 2>&1 & pids+=($!)
sleep 1
age-keygen -o age.key 2>/dev/null
python3 - "$records" "$work" "$(grep -o 'age1[0-9a-z]*' age.key)" "$user" "${sftp_opts[@]}" > latency.txt <<'PY'
import os, random, statistics, subprocess, sys, time
records, work, recipient, user, *opts = sys.argv[1:]
records = int(records)
outbox, sent = f"{work}/gp/spool/outbox/YOI123", f"{work}/gp/spool/sent"
os.makedirs(outbox, exist_ok=True)
def record(i):
    body = "".join(f'<entry nhs="999{random.randint(0, 9999999):07d}" code="{random.randint(10**5, 10**8)}">Synthetic entry {i}.{k}</entry>\n' for k in range(1400))
    return ('<?xml version="1.0"?>\n<record>\n' + body + "</record>\n").encode()[:100_000]
def gatehouse_once(i):
    before = set(os.listdir(sent)) if os.path.isdir(sent) else set()
    part = f"{outbox}/.r{i}.part"
    with open(part, "wb") as f: f.write(record(i))
    start = time.monotonic()
    os.rename(part, f"{outbox}/r{i}.xml")
    # The original moves to spool/sent/ once the receipt's signature and digest verify.
    while True:
        if os.path.isdir(sent) and len(set(os.listdir(sent)) - before) > 0: return time.monotonic() - start
        if time.monotonic() - start > 30: sys.exit(f"record {i} not acknowledged in 30 s")
        time.sleep(0.0005)
def baseline_once(i):
    src = f"{work}/b{i}.xml"
    with open(src, "wb") as f: f.write(record(i))
    batch = f"{work}/bbatch"
    with open(batch, "w") as f: f.write(f"put {src}.age /YOI123/.b{i}.part\nrename /YOI123/.b{i}.part /YOI123/b{i}.age\n")
    start = time.monotonic()
    subprocess.run(["age", "-r", recipient, "-o", f"{src}.age", src], check=True)
    subprocess.run(["sftp", "-b", batch, *opts, f"{user}@127.0.0.1"], check=True, capture_output=True)
    subprocess.run(["age", "-d", "-i", f"{work}/age.key", "-o", f"{src}.out", f"{work}/relay/mailboxes/YOI123/b{i}.age"], check=True)
    elapsed = time.monotonic() - start
    os.unlink(f"{work}/relay/mailboxes/YOI123/b{i}.age")
    return elapsed
for i in range(3): gatehouse_once(1000 + i)  # warm-up: sessions open
ours = [gatehouse_once(i) for i in range(records)]
base = [baseline_once(i) for i in range(min(records, 30))]
def pct(values, p): values = sorted(values); return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]
o50, o99, b50, b99 = pct(ours, 50) * 1000, pct(ours, 99) * 1000, pct(base, 50) * 1000, pct(base, 99) * 1000
print(f"| Gatehouse: drop → sealed → relay → verified, published → signed receipt verified | {len(ours)} | {o50:.0f} ms | {o99:.0f} ms | {b50 / o50:.1f}× faster at p50 |")
print(f"| age -r + new-connection `sftp` put + rename + age -d (no receipt) | {len(base)} | {b50:.0f} ms | {b99:.0f} ms | 1.0× |")
PY
cat latency.txt

{
    echo "# SFTP transport benchmark"
    echo
    echo "Written by \`make bench-sftp\` (scripts/bench-sftp.sh) on $(date -u +%Y-%m-%dT%H:%M:%SZ)."
    echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr);"
    echo "$(ssh -V 2>&1); $("$gatehouse" --version 2>/dev/null || echo gatehouse) (release build). Relay on loopback (sshd + gatehouse sftp-server)."
    echo
    echo "## Upload of one ${size_mb} MiB bundle, new connection each time (median of ${runs}; target ≥ 0.9× OpenSSH)"
    echo
    echo "Both through the same relay and server; each time covers the SSH connection, the upload under a"
    echo "temporary name and the rename (Gatehouse also fsyncs and checks the size)."
    echo
    echo "| client | time | throughput | ratio |"
    echo "| --- | --- | --- | --- |"
    cat upload.txt
    echo
    echo "## Drop-to-receipt latency, 100 KB records (targets: p50 < 50 ms, p99 < 200 ms)"
    echo
    echo "| path | records | p50 | p99 | ratio |"
    echo "| --- | --- | --- | --- | --- |"
    cat latency.txt
} > "$results"
echo "wrote $results"
