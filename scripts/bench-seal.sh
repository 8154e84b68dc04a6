#!/usr/bin/env bash
# Seals and opens a compressible and an incompressible file with Gatehouse, and encrypts and
# decrypts the same files with age, back to back in the same run. Prints medians, MB/s, peak RSS
# and ratios, and writes bench/SEAL-RESULTS.md. Not part of `make test`.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
gatehouse=${GATEHOUSE_BIN:-$root/.build/release/gatehouse}
size_mb=${BENCH_SIZE_MB:-1024}
runs=${BENCH_RUNS:-3}
results=$root/bench/SEAL-RESULTS.md
source "$root/scripts/lib/background.sh"
source "$root/scripts/lib/bench-env.sh"
data=$(bench_big_files "$size_mb")
mkdir -p "$root/bench/work"
work=$(mktemp -d "$root/bench/work/seal.XXXXXX")
cd "$work"
ln -sf "$data/records.xml" records.xml
ln -sf "$data/scans.bin" scans.bin

"$gatehouse" init --home gp --org A81001 --name "Bench Practice" >/dev/null
"$gatehouse" init --home yoi --org YOI123 --name "Bench Prison" >/dev/null
"$gatehouse" identity export --home gp -o gp.card >/dev/null
"$gatehouse" identity export --home yoi -o yoi.card >/dev/null
"$gatehouse" partners add --home yoi gp.card --yes >/dev/null
"$gatehouse" partners add --home gp yoi.card --yes >/dev/null
age-keygen -o age.key 2>/dev/null
recipient=$(grep -o 'age1[0-9a-z]*' age.key)

# measure NAME COMMAND…: runs the command $runs times; prints "median_seconds max_rss_kb".
measure() {
    local times=() rss=0 t r
    for ((i = 0; i < runs; i++)); do
        rm -rf out.* ; sync
        /usr/bin/time -f "%e %M" -o time.txt "$@" >/dev/null
        read -r t r < time.txt
        times+=("$t")
        ((r > rss)) && rss=$r
    done
    printf '%s %s\n' "$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p")" "$rss"
}

rows=()
for input in records.xml scans.bin; do
    label=$([[ $input == records.xml ]] && echo "compressible records" || echo "random (incompressible)")
    read -r gs grss < <(measure "$gatehouse" seal --home gp --to YOI123 --no-self -o out.ghb.keep "$input" && rm -f out.ghb.keep)
    "$gatehouse" seal --home gp --to YOI123 --no-self -o sealed.ghb "$input" >/dev/null
    read -r go gorss < <(measure "$gatehouse" open --home yoi sealed.ghb -o out.dir)
    read -r as asrss < <(measure age -r "$recipient" -o out.age "$input")
    # Gatehouse fsyncs what it writes (a record must survive a crash); age does not, so also
    # time age followed by an fsync of its output.
    read -r asy _ < <(measure bash -c "age -r $recipient -o out.age $input && sync out.age")
    age -r "$recipient" -o sealed.age "$input"
    read -r ad adrss < <(measure age -d -i age.key -o out.plain sealed.age)
    read -r ady _ < <(measure bash -c "age -d -i age.key -o out.plain sealed.age && sync out.plain")
    gsize=$(stat -c %s sealed.ghb); asize=$(stat -c %s sealed.age)
    rm -f sealed.ghb sealed.age out.*
    mbps() { awk -v s="$size_mb" -v t="$1" 'BEGIN { printf "%.0f", (s * 1.048576) / t }'; }
    ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / a }'; }
    rows+=("| $label | seal | $gs s | $(mbps "$gs") MB/s | $((grss / 1024)) MiB | $as s ($(mbps "$as") MB/s) | $(ratio "$gs" "$as")× | $asy s | $(ratio "$gs" "$asy")× | $gsize vs $asize |")
    rows+=("| $label | open | $go s | $(mbps "$go") MB/s | $((gorss / 1024)) MiB | $ad s ($(mbps "$ad") MB/s) | $(ratio "$go" "$ad")× | $ady s | $(ratio "$go" "$ady")× | |")
done
read -r gz _ < <(measure gzip -1 -c records.xml)

{
    echo "# Seal and open benchmark"
    echo
    echo "Written by \`make bench-seal\` (scripts/bench-seal.sh)."
    echo
    bench_machine "$work"
    echo
    echo "${size_mb} MiB per file, median of $runs runs; speed is MB/s of plaintext. The ratio is Gatehouse's speed"
    echo "divided by age's (above 1 is faster). age neither signs nor hashes nor compresses, and does not"
    echo "fsync; Gatehouse fsyncs its output, so the age + fsync columns are the like-for-like baseline."
    echo
    echo "| data | operation | Gatehouse | speed | peak RSS | age | ratio | age + fsync | ratio | bytes (Gatehouse vs age) |"
    echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    printf '%s\n' "${rows[@]}"
    echo
    echo "zlib reference: \`gzip -1\` of the compressible file, one core: $gz s ($(awk -v s="$size_mb" -v t="$gz" 'BEGIN { printf "%.0f", (s * 1.048576) / t }') MB/s)."
} | tee "$results"
