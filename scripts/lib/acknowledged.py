#!/usr/bin/env python3
"""Acknowledged records, shared by scripts/crash-test.sh, scripts/chaos.sh and check-exactly-once.py.

    acknowledged.py --gatehouse BIN [--prefix P] HOME ...

Prints how many distinct records (files, not bundles: records waiting together travel in one
bundle) the gateways at HOME ... have acknowledged, counting only names that start with P. It
reads `gatehouse status --json --limit 0`, so no bundle is left out however many there are. The
scripts wait on this number; the exactly-once verdict is check-exactly-once.py's.
"""
import argparse, json, subprocess


def outgoing(gatehouse, home):
    """Every outgoing bundle of the gateway at `home`, as `status --json --limit 0` prints them."""
    out = subprocess.run([gatehouse, "status", "--home", home, "--json", "--limit", "0"],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def acknowledged(bundles, prefix=""):
    """How often each record name starting with `prefix` was acknowledged, by name."""
    counts = {}
    for b in bundles:
        if b["state"] != "acknowledged":
            continue
        for f in b["files"]:
            if f["name"].startswith(prefix):
                counts[f["name"]] = counts.get(f["name"], 0) + 1
    return counts


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--gatehouse", required=True)
    p.add_argument("--prefix", default="")
    p.add_argument("homes", nargs="+")
    a = p.parse_args()
    total = 0
    for home in a.homes:
        try:
            total += len(acknowledged(outgoing(a.gatehouse, home), a.prefix))
        except (subprocess.CalledProcessError, json.JSONDecodeError):
            pass  # a gateway that has not run yet, or a journal being created: nothing acknowledged there
    print(total)


if __name__ == "__main__":
    main()
