#!/usr/bin/env bash
# Installs the system packages Gatehouse needs, only those that are missing.
# Uses apt-get (Debian 12); runs it through sudo when not root.
set -euo pipefail

# libdeflate-dev: DEFLATE blocks (zlib stays the reference inflater and for tests).
# libsqlite3-dev: GRDB (the journal) compiles against the system SQLite.
# python3: the crash test's checker and the notification tests' webhook receiver. openssl: the
# HTTPS notification tests make their certificates with it. git, ca-certificates: SwiftPM fetches
# packages with git (and ca-certificates is the store HTTPS webhooks are verified against).
# libqrencode-dev: QR codes for TOTP enrolment (web). chromium, python3-pip: the browser tests
# (Playwright from PyPI drives Debian's Chromium; browser downloads are not used).
# postgresql: the PostgreSQL journal's tests start a server of their own (initdb, on loopback).
# iproute2, strace: the partition test cuts a node off from PostgreSQL in a network namespace and
# traces the files it changes.
packages=(libsodium-dev zlib1g-dev libdeflate-dev libssl-dev libsqlite3-dev pkg-config openssh-client openssh-server python3
          openssl git ca-certificates libqrencode-dev chromium python3-pip postgresql iproute2 strace)
if [[ "${1:-}" == "--bench" ]]; then
    packages+=(age time)
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

if ! command -v swift >/dev/null 2>&1; then
    if [[ -x /opt/swift/usr/bin/swift ]]; then
        echo "gatehouse: Swift is in /opt/swift/usr/bin but not on PATH; the Makefile adds it" >&2
    else
        echo "gatehouse: error: Swift 6 is not installed (expected 'swift' on PATH or in /opt/swift/usr/bin)" >&2
        echo "gatehouse: hint: install the Swift 6.3 toolchain for Debian 12 from swift.org, then run make again" >&2
        exit 1
    fi
fi
