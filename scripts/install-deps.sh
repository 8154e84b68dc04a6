#!/usr/bin/env bash
# Installs the system packages Gatehouse needs, only those that are missing.
# Uses apt-get (Debian 12); runs it through sudo when not root.
set -euo pipefail

# libdeflate-dev: DEFLATE blocks (zlib stays the reference inflater and for tests).
# libsqlite3-dev: GRDB (the journal) compiles against the system SQLite.
# python3: the crash test's checker. git, ca-certificates: SwiftPM fetches packages with git.
packages=(libsodium-dev zlib1g-dev libdeflate-dev libssl-dev libsqlite3-dev pkg-config openssh-client openssh-server python3 git ca-certificates)
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

if ! command -v swift >/dev/null 2>&1; then
    if [[ -x /opt/swift/usr/bin/swift ]]; then
        echo "gatehouse: Swift is in /opt/swift/usr/bin but not on PATH; the Makefile adds it" >&2
    else
        echo "gatehouse: error: Swift 6 is not installed (expected 'swift' on PATH or in /opt/swift/usr/bin)" >&2
        echo "gatehouse: hint: install the Swift 6.3 toolchain for Debian 12 from swift.org, then run make again" >&2
        exit 1
    fi
fi
