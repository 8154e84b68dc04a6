#!/usr/bin/env bash
# Installs the system packages Gatehouse needs, only those that are missing.
# Uses apt-get (Debian 12); runs it through sudo when not root.
set -euo pipefail

# age, time, zstd (--bench): the baselines of `make bench`.
# libdeflate-dev: DEFLATE blocks (zlib stays the reference inflater and for tests).
# libsqlite3-dev: GRDB (the journal) compiles against the system SQLite.
# python3: the crash test's checker and the notification tests' webhook receiver. openssl: the
# HTTPS notification tests make their certificates with it. git, ca-certificates: SwiftPM fetches
# packages with git (and ca-certificates is the store HTTPS webhooks are verified against).
# libqrencode-dev: QR codes for TOTP enrolment (web). chromium, python3-pip: the browser tests
# (Playwright from PyPI drives Debian's Chromium; browser downloads are not used).
# postgresql: the PostgreSQL journal's tests start a server of their own (initdb, on loopback).
# curl: the HTTPS web tests' client (it verifies the `web cert` certificate as a browser would).
# iproute2, strace: the partition test cuts a node off from PostgreSQL in a network namespace and
# traces the files it changes.
# With --bench: age (the baseline), time, wrk (the web pages under load, make bench-web) and
# zstd (rows 1-2's streaming pipe by hand).
packages=(libsodium-dev zlib1g-dev libdeflate-dev libssl-dev libsqlite3-dev pkg-config openssh-client openssh-server python3
          openssl git ca-certificates libqrencode-dev chromium python3-pip postgresql curl iproute2 strace)
if [[ "${1:-}" == "--bench" ]]; then
    packages+=(age time wrk zstd)
fi

missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done

if ((${#missing[@]})); then
    echo "gatehouse: installing missing system packages: ${missing[*]}"
    sudo=""
    if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! python3 -c "import playwright" >/dev/null 2>&1; then
    echo "gatehouse: installing Playwright (PyPI) for the browser tests"
    python3 -m pip install -q playwright 2>/dev/null || python3 -m pip install -q --break-system-packages playwright
fi
# axe-core (bundled in axe-playwright-python): the browser test's accessibility audit.
if ! python3 -c "import axe_playwright_python" >/dev/null 2>&1; then
    echo "gatehouse: installing axe-playwright-python (PyPI) for the accessibility audit"
    python3 -m pip install -q axe-playwright-python 2>/dev/null \
        || python3 -m pip install -q --break-system-packages axe-playwright-python
fi

if ! command -v swift >/dev/null 2>&1; then
    if [[ -x /opt/swift/usr/bin/swift ]]; then
        echo "gatehouse: Swift is in /opt/swift/usr/bin but not on PATH; the Makefile adds it" >&2
    else
        echo "gatehouse: error: Swift 6 is not installed (expected 'swift' on PATH or in /opt/swift/usr/bin)" >&2
        echo "gatehouse: hint: install the Swift 6.3 toolchain for Debian 12 from swift.org, then run make again" >&2
        exit 1
    fi
fi
