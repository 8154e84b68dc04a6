#!/usr/bin/env bash
# Two organisations exchange synthetic records: a GP practice seals them for a prison
# healthcare team, which verifies and opens them; then a tampered copy is refused.
# Everything happens in a temporary folder that is removed at the end.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
gatehouse=${GATEHOUSE_BIN:-$root/.build/debug/gatehouse}
work=$(mktemp -d -t gatehouse-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
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

say "1. Each organisation creates its keys (root, signing, encryption) and identity card"
run init --home practice --org A81001 --name "Riverside Medical Practice"
run init --home prison --org YOI123 --name "HMP Northgate Healthcare"

say "2. They exchange identity cards and pin each other (in real life: compare fingerprints by phone)"
run identity export --home practice -o practice.card
run identity export --home prison -o prison.card
run partners add --home prison practice.card --yes
run partners add --home practice prison.card --yes

say "3. The practice exports a new prisoner's record (synthetic data)"
patient=$(nhs_number 999000123 || nhs_number 999000124)
cat > "gp-summary.xml" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<gpSummary nhsNumber="$patient">
  <patient><name>Alex Testperson</name><born>1984-03-02</born></patient>
  <problems><problem code="44054006">Type 2 diabetes mellitus</problem><problem code="195967001">Asthma</problem></problems>
  <medications><medication>Metformin 500 mg twice daily</medication><medication>Salbutamol 100 micrograms inhaler as needed</medication></medications>
  <allergies><allergy>Penicillin (rash)</allergy></allergies>
</gpSummary>
XML
printf 'date,drug,dose\n2026-10-01,Metformin,500 mg bd\n2026-10-01,Salbutamol,100 mcg prn\n' > "medications.csv"
head -c 200000 /dev/urandom > "discharge letter.pdf"
ls -l gp-summary.xml medications.csv "discharge letter.pdf"

say "4. The practice seals the record for the prison (NHS number and names stay inside the encryption)"
run seal --home practice --to YOI123 --subject "Reception screening" --nhs-number "$patient" \
    -o record.ghb gp-summary.xml medications.csv "discharge letter.pdf"

say "5. Anyone (a relay, say) can see only the cleartext header"
run inspect --home prison record.ghb
if grep -q -a "Testperson\|$patient\|gp-summary" record.ghb; then echo "unexpected: patient data visible"; exit 1; fi
echo "(no name, NHS number or file name appears in the bundle's bytes)"

say "6. The prison verifies the signature, decrypts, checks every digest, and publishes"
run open --home prison record.ghb -o received
ls -la received
( cd received && sha256sum gp-summary.xml medications.csv "discharge letter.pdf" ) > received.sums
sha256sum gp-summary.xml medications.csv "discharge letter.pdf" > sent.sums
diff sent.sums received.sums && echo "The received files are byte-for-byte identical to what the practice sent."

say "7. A bundle changed in transit is refused, and nothing is published"
cp record.ghb tampered.ghb
printf '\x01' | dd of=tampered.ghb bs=1 seek=4000 conv=notrunc status=none
set +e
"$gatehouse" open --home prison tampered.ghb -o tampered-out
status=$?
set -e
echo "exit status $status; tampered-out exists: $([[ -e tampered-out ]] && echo yes || echo no)"
[[ $status -ne 0 && ! -e tampered-out ]]

say "Demo complete"
