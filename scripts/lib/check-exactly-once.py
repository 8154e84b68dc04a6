#!/usr/bin/env python3
"""Exactly-once check shared by scripts/crash-test.sh and scripts/chaos.sh.

    check-exactly-once.py --gatehouse BIN --expected DIR --title TEXT [--prefix P] [--kills TEXT]
                          SENDER:HOME:RECEIVER:HOME ...

DIR holds one folder per sending organisation with the bytes of every record it dropped. For
each direction it reads the receiver's spool/received/<sender>/<bundle>/ and the sender's
`gatehouse status --json --limit 0` (through acknowledged.py, which the scripts wait on), and
checks that every record was published exactly once with identical bytes and acknowledged exactly once. With --prefix, only published and acknowledged
files whose names start with it are counted (other phases' records share the spools).

Several organisations (tenants of one hosted service, scripts/cluster-test.sh) are checked
tenant by tenant as well: each receiving home may hold published records only from the senders
of its own directions (a record published at the wrong tenant is a leak, not a delivery), no
record name may be published at two tenants, and each tenant gets its own line (sent,
received, acknowledged).
Prints one line per direction (and per tenant when there are more than two) and a verdict;
exits 1 when anything is wrong.
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


def published_names(rhome, sender, prefix):
    """Record names published at the home `rhome` from `sender`, one entry per copy."""
    base = os.path.join(rhome, "spool", "received", sender)
    names = []
    for bundle in sorted(os.listdir(base)) if os.path.isdir(base) else []:
        if not bundle.startswith("."):
            names += [n for n in os.listdir(os.path.join(base, bundle))
                      if not n.startswith(".gatehouse-manifest") and n.startswith(prefix)]
    return names


def check_tenants(pairs, summary, prefix, problems):
    """Per-tenant verdicts: nothing published at a tenant from an organisation it has no direction
    with, no record published at two tenants; returns one summary line per tenant."""
    senders_of, home_of = {}, {}
    for sender, home, receiver, rhome in pairs:
        senders_of.setdefault(rhome, set()).add(sender)
        home_of[sender], home_of[receiver] = home, rhome
    where = {}  # record name -> tenants it was published at
    for rhome, senders in senders_of.items():
        received = os.path.join(rhome, "spool", "received")
        for sender in sorted(os.listdir(received)) if os.path.isdir(received) else []:
            names = published_names(rhome, sender, prefix)
            if sender not in senders and names:
                problems.append(f"{os.path.basename(rhome)} published {len(names)} record(s) from {sender}, "
                                f"which sends it nothing in this run: {sorted(names)[:3]}")
            for n in set(names):
                where.setdefault(n, set()).add(rhome)
    for n, homes in sorted(where.items()):
        if len(homes) > 1:
            problems.append(f"{n} published at {len(homes)} organisations: {sorted(map(os.path.basename, homes))}")
    tenants = {}
    for (sender, receiver), v in summary.items():
        tenants.setdefault(sender, dict(sent=0, received=0, acknowledged=0))["sent"] += v["sent"]
        tenants[sender]["acknowledged"] += v["acknowledged"]
        tenants.setdefault(receiver, dict(sent=0, received=0, acknowledged=0))["received"] += v["distinct"]
    return tenants


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
    pairs = [tuple(pair.split(":")) for pair in a.pairs]
    for sender, home, receiver, rhome in pairs:
        summary[(sender, receiver)] = check(a.gatehouse, a.expected, a.prefix, sender, home, receiver, rhome, problems)
    tenants = check_tenants(pairs, summary, a.prefix, problems)
    print(a.title)
    if a.kills:
        print(f"  kills by victim: {a.kills}")
    for (sender, receiver), v in summary.items():
        print(f"  {sender}->{receiver}: {json.dumps(v)}")
    if len(tenants) > 2:
        print("  per tenant: " + "; ".join(f"{t} sent {v['sent']}, received {v['received']}, "
                                            f"{v['acknowledged']} acknowledged" for t, v in sorted(tenants.items())))
    if problems:
        print("  PROBLEMS:")
        for line in problems:
            print("    " + line)
        print(f"FAIL: {a.title}")
        sys.exit(1)
    per_tenant = f", at {len(tenants)} tenants, none published at a tenant it was not sent to" if len(tenants) > 2 else ""
    print(f"PASS: {a.title}: every record published exactly once with identical bytes and acknowledged exactly once"
          + per_tenant)


if __name__ == "__main__":
    main()
