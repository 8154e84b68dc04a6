#!/usr/bin/env bash
# The whole path on one machine: a GP practice and a prison healthcare team, each with its own
# gateway, exchange records through a mailbox relay (OpenSSH sshd on loopback running
# `gatehouse sftp-server`). A record goes in at reception and a release summary comes back,
# each timed from the moment it is dropped to the moment the sender holds a verified receipt.
# Everything runs in a temporary folder and is stopped and removed at the end.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
gatehouse=${GATEHOUSE_BIN:-$root/.build/debug/gatehouse}
work=$(mktemp -d -t gatehouse-demo.XXXXXX)
source "$root/scripts/lib/background.sh"
cd "$work"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ gatehouse %s\n' "$*"; "$gatehouse" "$@"; }

# NHS numbers from the 999 000 0000–999 999 9999 test range, with valid check digits.
nhs_number() {
    local base=$1 sum=0 i check
    for i in 0 1 2 3 4 5 6 7 8; do sum=$((sum + ${base:i:1} * (10 - i))); done
    check=$((11 - sum % 11)); [[ $check -eq 11 ]] && check=0
    [[ $check -eq 10 ]] && return 1
    echo "$base$check"
}
port=$(free_port)

say "1. A mailbox relay on loopback: its own sshd, host key and mailboxes (it only ever sees ciphertext)"
run relay init --home relay --listen "127.0.0.1:$port"
address=$("$gatehouse" relay address --home relay)

say "2. Each organisation creates its keys and an identity card naming the relay (host key included)"
run init --home practice --org A81001 --name "Riverside Medical Practice" --mailbox "$address"
run init --home prison --org YOI123 --name "HMP Northgate Healthcare" --mailbox "$address"
# Short intervals for the demo; the defaults suit production.
for home in practice prison; do
    sed -i 's/^stable_window = .*/stable_window = "200ms"/' "$home/gatehouse.toml"
done

say "3. They pin each other's cards (in real life: compare fingerprints by phone); the relay registers both"
run identity export --home practice -o practice.card
run identity export --home prison -o prison.card
run partners add --home prison practice.card --yes > /dev/null
run partners add --home practice prison.card --yes > /dev/null
run relay add --home relay practice.card --yes > /dev/null
run relay add --home relay prison.card --yes > /dev/null
echo "Pinned and registered."

say "4. Staff accounts for the web pages, then the relay and both gateways start (each serving its web pages)"
practice_password=$("$gatehouse" users add rita.reception --role sender --home practice | sed -n 's/.*password: //p')
prison_password=$("$gatehouse" users add anna.nurse --role clinician --home prison | sed -n 's/.*password: //p')
practice_web=$(free_port)
prison_web=$(free_port)
"$gatehouse" relay run --home relay 2> relay.log & pids+=($!)
"$gatehouse" run --home practice --web "127.0.0.1:$practice_web" > practice.log 2>&1 & pids+=($!)
"$gatehouse" run --home prison --web "127.0.0.1:$prison_web" > prison.log 2>&1 & pids+=($!)
sleep 1
echo "relay (sshd) and two gateways running; each gateway keeps one SSH session per mailbox."

# Drops a file into HOME's outbox for PARTNER the way producers should (temporary name, then
# rename), then prints the timeline until the sender has a verified receipt.
drop_and_watch() {
    local home=$1 partner=$2 receiver=$3 file=$4
    mkdir -p "$home/spool/outbox/$partner"
    cp "$file" "$home/spool/outbox/$partner/.$file.part"
    python3 - "$gatehouse" "$home" "$receiver" "$home/spool/outbox/$partner/.$file.part" "$home/spool/outbox/$partner/$file" <<'PY'
import datetime, json, os, subprocess, sys, time
gatehouse, home, receiver, part, final = sys.argv[1:]
def query(*args):
    out = subprocess.run([gatehouse, *args], capture_output=True, text=True)
    return json.loads(out.stdout) if out.returncode == 0 and out.stdout.strip() else []
before = {b["bundle_id"] for b in query("status", "--home", home, "--json")}
start = time.monotonic()
dropped = time.time()
os.rename(part, final)
print(f"  {0:7.0f} ms  dropped {os.path.basename(final)} into {home}'s outbox")
bundle, published, deadline = None, None, start + 60
while time.monotonic() < deadline:
    new = [b for b in query("status", "--home", home, "--json") if b["bundle_id"] not in before]
    if new:
        bundle = new[0]["bundle_id"]
        published = next((e for e in query("inbox", "--home", receiver, "--json") if e.get("bundle_id") == bundle), None)
        if new[0]["state"] == "acknowledged" and published: break
    time.sleep(0.02)
else:
    sys.exit("the record was not acknowledged within 60 s")
# The times each side's journal recorded, from the moment of the drop.
def at(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
labels = {"queued": "claimed and journalled", "sealed": "signed and encrypted for the recipient",
          "delivered": "uploaded to the relay (fsync, rename, size checked)",
          "acknowledged": "signed receipt verified by the sender"}
steps = [(at(s["at"]), s["state"], labels[s["state"]]) for s in query("status", bundle, "--home", home, "--json")["history"] if s["state"] in labels]
steps.append((at(published["received_at"]), "published", f"verified before decryption, decrypted and published by {receiver}"))
for when, state, label in sorted(steps):
    print(f"  {max(0, (when - dropped) * 1000):7.0f} ms  {state:<12} {label}")
print(f"  bundle {bundle}")
PY
}

say "5. Reception: the practice drops a new prisoner's GP record (synthetic data)"
patient=$(nhs_number 999000123 || nhs_number 999000124)
cat > gp-summary.xml <<XML
<?xml version="1.0" encoding="UTF-8"?>
<gpSummary nhsNumber="$patient">
  <patient><name>Alex Testperson</name><born>1984-03-02</born></patient>
  <problems><problem code="44054006">Type 2 diabetes mellitus</problem><problem code="195967001">Asthma</problem></problems>
  <medications><medication>Metformin 500 mg twice daily</medication><medication>Salbutamol 100 micrograms inhaler as needed</medication></medications>
  <allergies><allergy>Penicillin (rash)</allergy></allergies>
</gpSummary>
XML
drop_and_watch practice YOI123 prison gp-summary.xml
ls prison/spool/received/A81001/*/

say "6. Release: the prison's healthcare team sends the release summary back to the practice"
cat > release-summary.xml <<XML
<?xml version="1.0" encoding="UTF-8"?>
<releaseSummary nhsNumber="$patient"><released>2026-12-01</released>
  <medications><medication>Metformin 500 mg twice daily (7 days supplied)</medication></medications>
</releaseSummary>
XML
drop_and_watch prison A81001 practice release-summary.xml
ls practice/spool/received/YOI123/*/

say "7. What each side's journal says"
run status --home practice
run inbox --home prison

say "8. The practice's security officer rotates its keys while both gateways run"
run keys rotate --grace 1h --home practice
for _ in $(seq 100); do
    "$gatehouse" partners list --json --home prison | grep -q '"manifest_version" : 2' && break
    sleep 0.1
done
echo "The prison's gateway received and checked the new manifest by itself (no phone call):"
"$gatehouse" audit show --home prison | grep -E "partner-manifest-(accepted|refused)"
cat > clinic-letter.xml <<XML
<?xml version="1.0" encoding="UTF-8"?>
<clinicLetter nhsNumber="$patient"><clinic>Diabetes review</clinic><date>2026-12-15</date></clinicLetter>
XML
drop_and_watch practice YOI123 prison clinic-letter.xml
run keys status --home practice

say "9. The relay saw only ciphertext, and holds nothing now"
if grep -rqa "Testperson\|$patient" relay; then echo "unexpected: patient data on the relay"; exit 1; fi
echo "No name or NHS number anywhere under the relay's folder; mailboxes: $(find relay/mailboxes -type f | wc -l) file(s) left."

say "10. The national directory: a third organisation joins, and exchanges records the same day with no phone call per pair"
run network init --home network --name directory.nhs.example/demo
run network export-card --home network -o demo.network-card
run init --home newcomer --org YOI456 --name "HMP Southgate Healthcare" --mailbox "$address"
sed -i 's/^stable_window = .*/stable_window = "200ms"/' newcomer/gatehouse.toml
run identity export --home newcomer -o newcomer.card
# The cards as they are now (the practice rotated its keys in step 8).
"$gatehouse" identity export --home practice -o practice-now.card > /dev/null
"$gatehouse" identity export --home prison -o prison-now.card > /dev/null
for card in practice-now.card prison-now.card newcomer.card; do
    run network admit --home network "$card" --yes > /dev/null   # after the authority's own check of each
done
echo "An independent witness cosigns each checkpoint over HTTP (C2SP tlog-witness), never a rollback or a fork:"
witness_key=$("$gatehouse" network witness init --home witness --name witness.demo.example/w1)
witness_port=$(free_port)
"$gatehouse" network witness serve --home witness demo.network-card --listen "127.0.0.1:$witness_port" \
    > witness.log 2>&1 & pids+=($!)
for _ in $(seq 100); do grep -q "cosigning" witness.log 2>/dev/null && break; sleep 0.1; done
run network add-witness --home network --url "http://127.0.0.1:$witness_port" "$witness_key"
run network publish --home network --to relay/directory
echo "The relay registers what the directory admits (no relay add for the newcomer):"
run relay follow --home relay demo.network-card --yes
for home in practice newcomer; do
    run network join --home "$home" demo.network-card --yes > /dev/null
    run network require-witnesses --home "$home" --require 1 "$witness_key" > /dev/null
    run network sync --home "$home"
done
run partners list --home practice
"$gatehouse" run --home newcomer > newcomer.log 2>&1 & pids+=($!)
sleep 1
cat > transfer-record.xml <<XML
<?xml version="1.0" encoding="UTF-8"?>
<gpSummary nhsNumber="$patient"><transfer>HMP Northgate to HMP Southgate</transfer></gpSummary>
XML
drop_and_watch practice YOI456 newcomer transfer-record.xml
echo "The evidence that the directory did not lie, at both ends:"
run network show --home practice
ls newcomer/directory/log relay/directory/witness
say "11. The staff web pages (sign in; the first sign-in sets up TOTP with a QR code for an authenticator app)"
echo "  practice (receptionist: Send, Outgoing):  http://127.0.0.1:$practice_web/  rita.reception / $practice_password"
echo "  prison (nurse: Inbox, search by NHS number $patient):  http://127.0.0.1:$prison_web/  anna.nurse / $prison_password"
if [[ -t 0 ]]; then
    read -r -p "The gateways keep running for the web pages: press Enter to stop the demo. " _
fi

say "Demo complete: stopping the gateways and the relay"
