#!/usr/bin/env bash
# The staff web pages under load (issue 15): one `gatehouse run --web` whose journal holds
# BENCH_WEB_PACKS (100,000) received packs; `wrk` with BENCH_WEB_CONNECTIONS (50) signed-in
# connections on the Inbox page for BENCH_WEB_SECONDS (30) s (target p99 ≤ 100 ms); the search
# by NHS number one POST at a time (target p50 ≤ 20 ms); the gateway's memory idle and under
# load. Writes its own section of bench/RESULTS.md (between the bench-web markers; the other
# rows are left as they are). Not part of `make test`; `make bench-web` builds the release first.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
gatehouse=${GATEHOUSE_BIN:-$root/.build/release/gatehouse}
packs=${BENCH_WEB_PACKS:-100000}
connections=${BENCH_WEB_CONNECTIONS:-50}
seconds=${BENCH_WEB_SECONDS:-30}
source "$root/scripts/lib/bench-env.sh"
[[ -x $gatehouse ]] || { echo "bench-web: $gatehouse is missing; run 'swift build -c release --static-swift-stdlib'" >&2; exit 1; }
command -v wrk >/dev/null || { echo "bench-web: wrk is missing; run 'bash scripts/install-deps.sh --bench'" >&2; exit 1; }
mkdir -p "$root/bench/work"
work=$(mktemp -d "$root/bench/work/web.XXXXXX")
source "$root/scripts/lib/background.sh"

python3 "$root/scripts/lib/bench_web.py" "$gatehouse" "$work" "$bench_cache" "$packs" "$connections" "$seconds" \
    > "$work/result.json"
bench_machine "$root/bench/work" > "$work/machine.md"
if [[ $gatehouse != */release/* ]]; then  # GATEHOUSE_BIN named another build: say so
    sed -i "s|gatehouse release build (Swift runtime linked statically)|gatehouse build: ${gatehouse#$root/} (not release)|" "$work/machine.md"
fi
python3 "$root/scripts/lib/bench_section.py" "$root/bench/RESULTS.md" web "$work/result.json" "$work/machine.md" \
    "BENCH_WEB_PACKS=$packs, BENCH_WEB_CONNECTIONS=$connections, BENCH_WEB_SECONDS=$seconds"
echo "wrote the web section of bench/RESULTS.md"
