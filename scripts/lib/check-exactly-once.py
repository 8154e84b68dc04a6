#!/usr/bin/env python3
"""Exactly-once check shared by scripts/crash-test.sh and scripts/chaos.sh.

    check-exactly-once.py --gatehouse BIN --expected DIR --title TEXT [--prefix P] [--kills TEXT]
                          SENDER:HOME:RECEIVER:HOME ...

DIR holds one folder per sending organisation with the bytes of every record it dropped. For
each direction it reads the receiver's spool/received/<sender>/<bundle>/ and the sender's
`gatehouse status --json --limit 0` (through acknowledged.py, which the scripts wait on), and
checks that every record was published exactly once with identical bytes and acknowledged exactly once. With --prefix, only published and acknowledged
files whose names start with it are counted (other phases' records share the spools).
Prints one line per direction and a verdict; exits 1 when anything is wrong.
"""
import argparse, hashlib, json, os, sys

sys.dont_write_bytecode = True  # no __pycache__ in scripts/lib
from acknowledged import acknowledged, outgoing  # noqa: E402 (beside this file)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def check(gatehouse, expected_dir, prefix, sender, home, receiver, rhome, problems):
    folder = os.path.join(expected_dir, sender)
    expected = {n: sha256(os.path.join(folder, n)) for n in os.listdir(folder)} if os.path.isdir(folder) else {}
    published = {}
    base = os.path.join(rhome, "spool", "received", sender)
    for bundle in sorted(os.listdir(base)) if os.path.isdir(base) else []:
        if bundle.startswith("."):
            problems.append(f"staging folder visible under received/: {bundle}")
            continue
        for n in os.listdir(os.path.join(base, bundle)):
            if n.startswith(".gatehouse-manifest") or not n.startswith(prefix):
                continue
            published.setdefault(n, []).append(sha256(os.path.join(base, bundle, n)))
    bundles = outgoing(gatehouse, home)
    ack_names = acknowledged(bundles, prefix)
    acked = sum(ack_names.values())
    states = {}  # counts bundles (one may carry several records)
    for b in bundles:
        if any(f["name"].startswith(prefix) for f in b["files"]):
            states[b["state"]] = states.get(b["state"], 0) + 1
    missing = [n for n in expected if n not in published]
    unexpected = [n for n in published if n not in expected]
    dup = [n for n, v in published.items() if len(v) > 1]
    wrong = [n for n, v in published.items() if n in expected and any(h != expected[n] for h in v)]
    unacked = [n for n in expected if ack_names.get(n, 0) != 1]
    for label, items in [("missing", missing), ("published twice", dup), ("corrupted", wrong),
                         ("published but never sent", unexpected), ("not acknowledged exactly once", unacked)]:
        if items:
            problems.append(f"{sender}->{receiver} {label}: {sorted(items)[:5]}{' …' if len(items) > 5 else ''}")
    return dict(sent=len(expected), published=sum(len(v) for v in published.values()), distinct=len(published),
                acknowledged=acked, missing=len(missing), duplicates=len(dup), corrupted=len(wrong),
                not_acked_once=len(unacked), bundle_states=states)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--gatehouse", required=True)
    p.add_argument("--expected", required=True)
    p.add_argument("--title", required=True)
    p.add_argument("--prefix", default="")
    p.add_argument("--kills", default="")
    p.add_argument("pairs", nargs="+", help="SENDER:HOME:RECEIVER:HOME")
    a = p.parse_args()
    problems, summary = [], {}
    for pair in a.pairs:
        sender, home, receiver, rhome = pair.split(":")
        summary[f"{sender}->{receiver}"] = check(a.gatehouse, a.expected, a.prefix, sender, home, receiver, rhome, problems)
    print(a.title)
    if a.kills:
        print(f"  kills by victim: {a.kills}")
    for k, v in summary.items():
        print(f"  {k}: {json.dumps(v)}")
    if problems:
        print("  PROBLEMS:")
        for line in problems:
            print("    " + line)
        print(f"FAIL: {a.title}")
        sys.exit(1)
    print(f"PASS: {a.title}: every record published exactly once with identical bytes and acknowledged exactly once")


if __name__ == "__main__":
    main()
