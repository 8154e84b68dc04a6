#!/usr/bin/env bash
# Through a gatehouse relay on loopback (sshd running gatehouse sftp-server), back to back in the
# same run: upload of one large bundle, `gatehouse deliver` (our SFTP client over OpenSSH's ssh)
# against OpenSSH's own `sftp` (put under a temporary name, then rename), each on a new
# connection. Drop-to-receipt latency between running gateways is row 4 of scripts/bench.sh.
# Prints medians and ratios and writes bench/SFTP-RESULTS.md. Not part of `make test`.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
gatehouse=${GATEHOUSE_BIN:-$root/.build/release/gatehouse}
size_mb=${BENCH_SIZE_MB:-1024}
runs=${BENCH_RUNS:-3}
results=$root/bench/SFTP-RESULTS.md
work=$(mktemp -d -t gatehouse-bench-sftp.XXXXXX)
source "$root/scripts/lib/background.sh"
source "$root/scripts/lib/bench-env.sh"
cd "$work"

bench_homes
"$gatehouse" relay run --home relay 2> relay.log & pids+=($!)
sleep 0.5

echo "sealing a ${size_mb} MiB incompressible bundle…"
"$gatehouse" seal --home gp --to YOI123 --no-self -o big.ghb "$(bench_big_files "$size_mb")/scans.bin" >/dev/null
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

{
    echo "# SFTP transport benchmark"
    echo
    echo "Written by \`make bench-sftp\` (scripts/bench-sftp.sh). Relay on loopback (sshd + gatehouse sftp-server)."
    echo "Drop-to-receipt latency is row 4 of \`make bench\` (bench/RESULTS.md)."
    echo
    bench_machine "$work"
    echo
    echo "## Upload of one ${size_mb} MiB bundle, new connection each time (median of ${runs}; target ≥ 0.9× OpenSSH)"
    echo
    echo "Both through the same relay and server; each time covers the SSH connection, the upload under a"
    echo "temporary name and the rename (Gatehouse also fsyncs and checks the size)."
    echo
    echo "| client | time | throughput | ratio |"
    echo "| --- | --- | --- | --- |"
    cat upload.txt
} > "$results"
echo "wrote $results"
