#!/usr/bin/env bash
# Chaos through a relay: a practice (A81001) and a prison (YOI123) exchange records through
# `gatehouse relay run` (OpenSSH sshd + gatehouse sftp-server) on 127.0.0.1, phase by phase, each
# with its own verdict (scripts/lib/check-exactly-once.py: every record published exactly once
# with identical bytes, acknowledged exactly once):
#   kills      RECORDS records both ways while KILLS random kill -9s hit the sending and the
#              receiving gateway, the relay's sshd listener (restarted) and per-connection sshd
#              and sftp-server processes;
#   outage     the relay is down OUTAGE seconds while records are dropped, then restarted: the
#              gateways recover on their own; retry delays stay within retry_max, logs stay calm;
#   full-disk  the prison's spool moves onto a tmpfs (TMPFS_MB to spare), filled while records arrive, then freed:
#              everything arrives without restarting anything (root only, else SKIPPED);
#   cuts       BIG_MB records whose SSH connection is cut mid-upload and mid-download, once by
#              killing the relay's sshd for the connection and once by killing the gateway's ssh;
#              and kill -9s during streamed transfers (a bundle is uploaded while it is sealed):
#              of the sending gateway (up-gateway), of the relay, its listener and every
#              connection (up-relay), and of the receiving gateway (down-gateway).
#
#   RECORDS=1000 KILLS=24 OUTAGE=10 BIG_MB=32 scripts/chaos.sh      (KEEP=1 keeps the folder;
#   PHASES=kills,outage,full-disk,cuts picks phases;
#   CUTS=up-sshd,up-ssh,down-sshd,down-ssh,up-gateway,up-relay,down-gateway)
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
gatehouse=${GATEHOUSE_BIN:-$root/.build/debug/gatehouse}
checker=$root/scripts/lib/check-exactly-once.py
records=${RECORDS:-1000}
kills=${KILLS:-24}
outage=${OUTAGE:-10}
outage_records=${OUTAGE_RECORDS:-40}
tmpfs_mb=${TMPFS_MB:-64}
full_records=${FULL_RECORDS:-12}
big_mb=${BIG_MB:-32}
cuts=${CUTS:-up-sshd,up-ssh,down-sshd,down-ssh,up-gateway,up-relay,down-gateway}
timeout=${TIMEOUT:-600}
retry_max_ms=2000
work=$(mktemp -d -t gatehouse-chaos.XXXXXX)
# Every gateway and relay this run starts carries this mark in its environment (sshd rewrites
# its own, but names $work on its command line, as do ssh and gatehouse sftp-server), so
# cleanup finds them by pid; per-connection sshd processes are the parents of sftp-server.
mark="GATEHOUSE_CHAOS=$work"
mounted=
started=$SECONDS
failed=()

ours() { # pids of every process this run started that still runs
    local p
    for p in /proc/[0-9]*; do
        [[ ${p#/proc/} == "$$" ]] && continue
        if grep -qzx -- "$mark" "$p/environ" 2>/dev/null || tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF -- "$work/"; then
            echo "${p#/proc/}"
        fi
    done
}
cleanup() {
    local pid
    for pid in $(connections) $(ours); do kill -9 "$pid" 2>/dev/null; done
    wait 2>/dev/null
    [[ -n $mounted ]] && umount -l "$work/prison/spool" 2>/dev/null
    if [[ -n ${KEEP:-} ]]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$work"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
say() { printf '[%4ds] %s\n' $((SECONDS - started)) "$*"; }

# --- Relay and gateways ---------------------------------------------------------------------
port=$(free_port)
"$gatehouse" relay init --home relay --listen "127.0.0.1:$port" >/dev/null
address=$("$gatehouse" relay address --home relay)

setup() { # home org name
    "$gatehouse" init --home "$1" --org "$2" --name "$3" --mailbox "$address" >/dev/null
    # Short intervals so a run takes minutes, not hours; the breaker's cool-down within retry_max.
    sed -i 's/^poll_interval = .*/poll_interval = "500ms"/; s/^stable_window = .*/stable_window = "200ms"/;
            s/^retry_initial = .*/retry_initial = "200ms"/; s/^retry_max = .*/retry_max = "2s"/;
            s/^breaker_cooldown = .*/breaker_cooldown = "2s"/; s/^rescan_interval = .*/rescan_interval = "2s"/' "$1/gatehouse.toml"
    "$gatehouse" config check --home "$1" >/dev/null || { echo "config check failed for $1"; exit 1; }
}
setup practice A81001 "Chaos Test Practice"
setup prison YOI123 "Chaos Test Prison"
for home in practice prison; do "$gatehouse" identity export --home $home -o $home.card >/dev/null; done
"$gatehouse" partners add --home prison practice.card --yes >/dev/null
"$gatehouse" partners add --home practice prison.card --yes >/dev/null
for home in practice prison; do "$gatehouse" relay add --home relay $home.card --yes >/dev/null; done

declare -A daemon victims
relay_up() { # start the relay (it becomes sshd) and wait until it accepts connections
    env "$mark" "$gatehouse" relay run --home relay 2>>relay.log &
    daemon[relay]=$!
    local i
    for ((i = 0; i < 100; i++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "the relay did not start"; exit 1
}
start() { env "$mark" "$gatehouse" run --home "$1" >>"$1.log" 2>&1 & daemon[$1]=$!; }
running() { # wait until the gateway at HOME has said it runs, since its log had LINES lines
    local i
    for ((i = 0; i < 200; i++)); do tail -n +"$(($2 + 1))" "$1.log" | grep -q " running home=" && return 0; sleep 0.1; done
    say "the $1 gateway did not start"
}
hit() { # kill -9 PID, wait for it, count it under VICTIM
    kill -9 "$2" 2>/dev/null || true
    wait "$2" 2>/dev/null || true
    victims[$1]=$((${victims[$1]:-0} + 1))
}
connections() { # the relay's per-connection processes: gatehouse sftp-server [--org ORG] and its sshd
    local pid cmd
    for pid in $(ours); do
        cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || continue
        if [[ $cmd == *" sftp-server --org ${1:-}"* ]]; then
            echo "$pid"
            pid=$(awk '{print $4}' "/proc/$pid/stat" 2>/dev/null)
            [[ $pid != "${daemon[relay]:-}" && $(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") == sshd:* ]] && echo "$pid"
        fi
    done
}
ssh_clients() { ps -o pid= --ppid "${daemon[$1]}" 2>/dev/null | tr -d ' '; }
victim_summary() { local k out=; for k in "${!victims[@]}"; do out+="$k=${victims[$k]} "; done; echo "${out% }"; }

relay_up
start practice
start prison

# --- Records ----------------------------------------------------------------------------------
# Names carry the phase; invented contents with NHS numbers in 999 000 0000 – 999 999 9999.
mkdir -p expected
drop() { # phase home partner sender index [size in bytes]
    local dir="expected/$1/$4" name="$1-record-$5 é.txt"
    mkdir -p "$dir" "$2/spool/outbox/$3"
    if [[ -n ${6:-} ]]; then
        { printf 'record %s from %s, NHS 999%07d, Synthetic Patient %s\n' "$5" "$4" "$5" "$5"; head -c "$6" /dev/urandom; } >"$dir/$name"
    else
        printf 'record %s from %s, NHS 999%07d, Synthetic Patient %s, %s\n' "$5" "$4" "$((RANDOM * 30 + $5))" "$5" \
            "$(head -c 1500 /dev/urandom | base64 -w0)" >"$dir/$name"
    fi
    cp "$dir/$name" "$2/spool/outbox/$3/.$name.part"
    mv "$2/spool/outbox/$3/.$name.part" "$2/spool/outbox/$3/$name"
}
drop_either() { # phase index: odd from the practice, even from the prison
    if (($2 % 2)); then drop "$1" practice YOI123 A81001 "$2"; else drop "$1" prison A81001 YOI123 "$2"; fi
}
acked() { # phase: acknowledged records of that phase, both senders together
    python3 "$root/scripts/lib/acknowledged.py" --gatehouse "$gatehouse" --prefix "$1-" practice prison
}
settle() { # phase count [seconds]: wait until count records of the phase are acknowledged
    local deadline=$((SECONDS + ${3:-$timeout})) n=0
    while ((SECONDS < deadline)); do
        n=$(acked "$1")
        ((n >= $2)) && return 0
        sleep 1
    done
    say "$1: only $n of $2 acknowledged after ${3:-$timeout} s"
    return 1
}
verdict() { # phase title [kills]
    if ! python3 "$checker" --gatehouse "$gatehouse" --expected "expected/$1" --prefix "$1-" --title "$2" --kills "${3:-}" \
        "A81001:$work/practice:YOI123:$work/prison" "YOI123:$work/prison:A81001:$work/practice"; then
        failed+=("$1")
    fi
}
alive() { local who; for who in practice prison; do kill -0 "${daemon[$who]}" 2>/dev/null || { say "the $who gateway exited"; return 1; }; done; }

# --- Phase 1: kills ---------------------------------------------------------------------------
phase_kills() {
say "kills: $records records both ways, $kills kill -9s of the gateways, the relay's sshd and its connections"
phase_start=$SECONDS
chunk=$(((records + kills - 1) / kills))
i=0 killed=0
while ((i < records || killed < kills)); do
    for ((n = 0; n < chunk * (RANDOM % 3 + 1) / 2 && i < records; n++)); do i=$((i + 1)); drop_either kills "$i"; done
    ((killed >= kills)) && continue
    sleep "$((RANDOM % 2)).$((RANDOM % 10))"
    case $((RANDOM % 4)) in
        0) hit practice "${daemon[practice]}"; start practice ;;
        1) hit prison "${daemon[prison]}"; start prison ;;
        2) hit relay-sshd "${daemon[relay]}"; sleep "0.$((RANDOM % 10))"; relay_up ;;
        3) conns=($(connections)); ((${#conns[@]})) || continue; hit relay-connection "${conns[RANDOM % ${#conns[@]}]}" ;;
    esac
    killed=$((killed + 1))
done
settle kills "$records"
verdict kills "kills: $records records, $killed kill -9s, $((SECONDS - phase_start)) s" "$(victim_summary)"
}

# --- Phase 2: relay outage --------------------------------------------------------------------
phase_outage() {
say "outage: the relay down ${outage} s while $outage_records records are dropped"
for pid in $(connections); do kill -9 "$pid" 2>/dev/null; done
kill -9 "${daemon[relay]}"; wait "${daemon[relay]}" 2>/dev/null
for pid in $(connections); do kill -9 "$pid" 2>/dev/null; done
lines_before=$(cat practice.log prison.log | wc -l)
down_at=$SECONDS
bound_problems=0 max_attempts=0 samples=0
for ((i = 1; i <= outage_records; i++)); do drop_either outage "$i"; done
while ((SECONDS - down_at < outage)); do
    # Bounded retries: no queued or sealed bundle's next attempt is more than retry_max away
    # (the breaker's cool-down is set within it).
    read -r bad most < <(python3 - "$gatehouse" "$retry_max_ms" practice prison <<'PY'
import json, subprocess, sys, time
from datetime import datetime
def ms(t): return datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() * 1000
gatehouse, limit, *homes = sys.argv[1:]
bad = most = 0
for home in homes:
    now = time.time() * 1000
    out = subprocess.run([gatehouse, "status", "--home", home, "--json", "--limit", "0"], capture_output=True, text=True).stdout
    for doc in json.loads(out or "[]"):
        if doc.get("next_attempt_at") and doc["attempts"] > 0:
            most = max(most, doc["attempts"])
            if ms(doc["next_attempt_at"]) - now > int(limit) + 50:
                bad += 1
                print(home, json.dumps(doc), file=sys.stderr)
print(bad, most)
PY
2>>retry-bound.txt)
    bound_problems=$((bound_problems + bad)); ((most > max_attempts)) && max_attempts=$most
    samples=$((samples + 1))
    sleep 1
done
outage_lines=$(($(cat practice.log prison.log | wc -l) - lines_before))
early=$(acked outage)
relay_up
up_at=$SECONDS
settle outage "$outage_records" && recovery=$((SECONDS - up_at)) || recovery=never
rate=$((outage_lines / outage / 2))
say "outage: $outage_lines log lines from both gateways in $outage s ($rate a second each); $samples status samples, most attempts $max_attempts, $bound_problems delays beyond retry_max; $early acknowledged while down; recovered in $recovery s"
((bound_problems == 0)) || { say "outage: FAIL: a retry delay exceeded retry_max"; failed+=(outage-retry); }
((rate <= 10)) || { say "outage: FAIL: a gateway logged $rate lines a second while the relay was down (spinning)"; failed+=(outage-spin); }
((early == 0)) || { say "outage: FAIL: $early records acknowledged while the relay was down"; failed+=(outage-early); }
verdict outage "outage: relay down $outage s, $outage_records records, recovered in $recovery s without manual action"
}

# --- Phase 3: full disk on the receiver -------------------------------------------------------
stop() { # stop a gateway gracefully (SIGTERM), or with SIGKILL after 20 s
    kill -TERM "${daemon[$1]}" 2>/dev/null
    local i
    for ((i = 0; i < 200; i++)); do kill -0 "${daemon[$1]}" 2>/dev/null || break; sleep 0.1; done
    kill -9 "${daemon[$1]}" 2>/dev/null; wait "${daemon[$1]}" 2>/dev/null
}
phase_full_disk() {
    if [[ $(id -u) != 0 ]]; then say "SKIPPED: full disk (needs root to mount a tmpfs)"; return; fi
    # Move the prison's spool onto a tmpfs with TMPFS_MB to spare (its daemon stopped meanwhile).
    stop prison
    mkdir -p prison/spool && mv prison/spool prison/spool.disk && mkdir prison/spool
    if ! mount -t tmpfs -o "size=$(($(du -sm prison/spool.disk | cut -f1) + tmpfs_mb))m,mode=0700" gatehouse-chaos prison/spool 2>/dev/null; then
        rmdir prison/spool && mv prison/spool.disk prison/spool
        start prison
        say "SKIPPED: full disk (needs root to mount a tmpfs)"
        return
    fi
    mounted=1
    cp -a prison/spool.disk/. prison/spool/ && rm -rf prison/spool.disk
    local lines
    lines=$(wc -l <prison.log)
    start prison
    running prison "$lines"
    local before=${daemon[prison]} early ok=1 i
    say "full-disk: the prison's spool on a tmpfs, filled while $full_records records of 200 KB arrive"
    fallocate -l "$(($(stat -f -c '%a*%S' prison/spool)))" prison/spool/filler 2>/dev/null
    dd if=/dev/zero of=prison/spool/filler2 bs=4k 2>/dev/null
    say "full-disk: $(df -k --output=avail prison/spool | tail -1 | tr -d ' ') KiB free"
    for ((i = 1; i <= full_records; i++)); do drop full-disk practice YOI123 A81001 "$i" 200000; done
    sleep 8
    early=$(acked full-disk)
    say "full-disk: $early acknowledged while full; $(grep -c 'No space left' prison.log) prison log lines say 'No space left'"
    rm -f prison/spool/filler prison/spool/filler2
    settle full-disk "$full_records" 120 || ok=
    alive || ok=
    [[ ${daemon[prison]} == "$before" ]] || ok=
    [[ -n $ok ]] || { say "full-disk: FAIL: not recovered without a restart"; failed+=(full-disk-recovery); }
    verdict full-disk "full-disk: $full_records records into a full spool, freed after 8 s, no restart"
    # Back onto the disk for the phases that follow.
    stop prison
    mkdir prison/spool.disk && cp -a prison/spool/. prison/spool.disk/ && umount prison/spool && mounted= &&
        rmdir prison/spool && mv prison/spool.disk prison/spool
    start prison
}

# --- Phase 4: connections cut mid-transfer ----------------------------------------------------
phase_cuts() {
say "cuts: $big_mb MB records from the prison, connections cut mid-transfer ($cuts)"
landed=()
growing() { # file pattern: a file matching it exists with more than 1 MB in it
    local f
    for f in $1; do [[ -f $f ]] && (($(stat -c %s "$f" 2>/dev/null || echo 0) > 1048576)) && return 0; done
    return 1
}
sealing() { # home: 1 while the gateway is still writing its sealed bundle (the upload follows it), else 0
    compgen -G "$1/spool/work/out/.tmp-*" >/dev/null && echo 1 || echo 0
}
n=0 streamed=0
IFS=, read -ra kinds <<<"$cuts"
for kind in "${kinds[@]}"; do
    n=$((n + 1))
    drop cuts prison A81001 YOI123 "$n" $((big_mb * 1000000))
    case $kind in
        up-*) where="relay/mailboxes/A81001/.*" ;;
        # The copy being downloaded, or followed while still uploading, is a dot-name until it is whole.
        down-*) where="practice/spool/work/in/.tmp-* practice/spool/work/in/*" ;;
    esac
    hit_it=
    for ((t = 0; t < 3000; t++)); do
        if growing "$where"; then
            case $kind in
                up-sshd) for pid in $(connections YOI123); do hit relay-connection "$pid"; done ;;
                down-sshd) for pid in $(connections A81001); do hit relay-connection "$pid"; done ;;
                up-ssh) for pid in $(ssh_clients prison); do hit ssh-client "$pid"; done ;;
                down-ssh) for pid in $(ssh_clients practice); do hit ssh-client "$pid"; done ;;
                # kill -9 of a whole party while a bundle streams: nothing published half-way.
                up-gateway) streamed=$((streamed + $(sealing prison))); hit prison "${daemon[prison]}"; start prison ;;
                down-gateway) hit practice "${daemon[practice]}"; start practice ;;
                up-relay)
                    streamed=$((streamed + $(sealing prison)))
                    hit relay-sshd "${daemon[relay]}"
                    for pid in $(connections); do hit relay-connection "$pid"; done
                    relay_up ;;
            esac
            hit_it=1
            break
        fi
        sleep 0.01
    done
    if [[ -n $hit_it ]]; then landed+=("$kind"); else say "cuts: $kind missed the transfer"; fi
    settle cuts "$n" 300 || true
done
[[ ${#landed[@]} == "${#kinds[@]}" ]] || { say "cuts: FAIL: only ${landed[*]:-none} landed mid-transfer"; failed+=(cuts-landed); }
say "cuts: $streamed of the kill -9s on the sending side landed while the bundle was still being sealed"
verdict cuts "cuts: ${#kinds[@]} records of $big_mb MB, cut mid-transfer: ${landed[*]:-none}"
}

IFS=, read -ra phases <<<"${PHASES:-kills,outage,full-disk,cuts}"
for phase in "${phases[@]}"; do "phase_${phase//-/_}"; done

# --- Summary ----------------------------------------------------------------------------------
alive || failed+=(alive)
leftovers=$(find relay/mailboxes -type f | wc -l)
say "logs: practice $(wc -l <practice.log), prison $(wc -l <prison.log), relay $(wc -l <relay.log) lines; $leftovers files left in the mailboxes"
say "kills by victim: $(victim_summary)"
if ((${#failed[@]})); then
    say "chaos: FAILED (${failed[*]})"
    exit 1
fi
say "chaos: every phase passed"
