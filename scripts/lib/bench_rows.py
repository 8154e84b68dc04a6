#!/usr/bin/env python3
"""The rows of `make bench` (scripts/bench.sh sets up the homes and data, then runs this).

Each row runs Gatehouse and its baseline back to back on the same data, prints what it measured
and saves a fragment (JSON) in the results folder; `assemble` writes bench/RESULTS.md from the
fragments there, so a subset of rows (BENCH_ROWS) can be rerun without losing the others.

    bench_rows.py run CONFIG.json          run the rows CONFIG names
    bench_rows.py assemble RESULTS_DIR MACHINE.md OUT.md
"""

import glob
import hashlib
import json
import os
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import time

GP, YOI = "A81001", "YOI123"
MIB = 1 << 20
# The knobs each row depends on (row 5 also reports the peaks of rows 1-2).
KNOBS = {1: "BENCH_SIZE_MB BENCH_RUNS", 2: "BENCH_SIZE_MB BENCH_RUNS", 3: "BENCH_MANY BENCH_RUNS", 4: "BENCH_RECORDS",
         5: "BENCH_SIZE_MB BENCH_QUEUED", 6: "BENCH_QUEUED BENCH_JOURNAL"}


def log(text):
    print(f"bench: {text}", file=sys.stderr, flush=True)


def median(values):
    return statistics.median(values)


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def wait_for(what, condition, timeout, interval=0.02, on_timeout=None):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            if on_timeout:
                on_timeout()
            raise SystemExit(f"bench: gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def wait_progress(what, probe, done, stall=60, timeout=900, interval=0.25):
    """Polls probe() until done(value); gives up (returns False) when the value has not changed
    for `stall` seconds or after `timeout`, so a stuck pipeline is reported, not waited on."""
    start = last_change = time.monotonic()
    last = None
    while True:
        value = probe()
        if value is not None and done(value):
            return True
        now = time.monotonic()
        if value != last:
            last, last_change = value, now
        elif now - last_change > stall or now - start > timeout:
            log(f"{what}: no progress for {now - last_change:.0f} s (at {value}); giving up")
            return False
        time.sleep(interval)


class Bench:
    def __init__(self, config):
        self.c = config
        self.gatehouse = config["gatehouse"]
        self.work = config["work"]
        self.runs = config["runs"]
        self.procs = {}
        self.gp, self.yoi, self.relay = (f"{self.work}/{h}" for h in ("gp", "yoi", "relay"))
        self.outbox = f"{self.gp}/spool/outbox/{YOI}"
        self.sent = f"{self.gp}/spool/sent"
        self.received = f"{self.yoi}/spool/received/{GP}"
        self.mailbox = f"{self.relay}/mailboxes/{YOI}"
        self.sftp = ["sftp", *config["sftp_opts"]]
        self.target = f"{config['user']}@127.0.0.1"

    # --- processes -------------------------------------------------------------------------

    def start(self, name):
        if name in self.procs:
            return
        args = ["relay", "run", "--home", self.relay] if name == "relay" else ["run", "--home", f"{self.work}/{name}"]
        logfile = open(f"{self.work}/{name}.log", "a")
        self.procs[name] = subprocess.Popen([self.gatehouse, *args], stdout=logfile, stderr=logfile)
        if name == "relay":
            time.sleep(0.5)

    def peak_mib(self, name):
        """VmHWM (peak resident memory) of a running daemon, in MiB."""
        with open(f"/proc/{self.procs[name].pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        raise SystemExit(f"bench: no VmHWM for {name}")

    def stop(self, name):
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            log(f"{name} did not stop in 60 s after SIGTERM; killing it")
            proc.kill()
            proc.wait()

    def stop_all(self):
        for name in list(self.procs):
            self.stop(name)

    def tail_logs(self):
        for name in ("gp", "yoi", "relay"):
            path = f"{self.work}/{name}.log"
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    lines = f.readlines()[-15:]
                print(f"--- last lines of {name}.log ---\n{''.join(lines)}", file=sys.stderr)

    def reset(self):
        """Stops both gateways and empties their spools and the relay's mailboxes (keys,
        partners and the key-manifest versions already delivered stay)."""
        self.stop("gp")
        self.stop("yoi")
        for home in (self.gp, self.yoi):
            for entry in glob.glob(f"{home}/spool/*"):
                if os.path.basename(entry) != "manifests":
                    shutil.rmtree(entry) if os.path.isdir(entry) else os.unlink(entry)
        for entry in glob.glob(f"{self.relay}/mailboxes/*/*") + glob.glob(f"{self.relay}/mailboxes/*/.*"):
            if os.path.isfile(entry):
                os.unlink(entry)

    def gateways(self):
        """Fresh spools, the relay and both gateways running, sessions warmed by one record."""
        self.reset()
        self.start("relay")
        self.start("gp")
        self.start("yoi")
        for i in range(2):
            self.drop_and_wait([self.tiny(f"warm-up-{i}.txt")], timeout=60)
        self.clear_delivered()

    def tiny(self, name):
        path = f"{self.work}/{name}"
        with open(path, "w") as f:
            f.write(f"warm-up record, NHS 999 000 0000, {time.time()}\n")
        return path

    # --- Gatehouse: drop, wait for the receipt ------------------------------------------------

    def sent_names(self):
        names = set()
        if os.path.isdir(self.sent):
            for bundle in os.listdir(self.sent):
                folder = f"{self.sent}/{bundle}"
                if os.path.isdir(folder):
                    names.update(os.listdir(folder))
        return names

    def drop_and_wait(self, sources, timeout, interval=0.02):
        """Copies each source into the outbox as .part (a hard link is a second name, which the
        claim refuses), renames them all in, and returns the seconds from the first rename until
        every original is in spool/sent/ (its signed receipt verified, which the facility sends
        only after verifying and publishing)."""
        os.makedirs(self.outbox, exist_ok=True)
        names = [os.path.basename(s) for s in sources]
        for source, name in zip(sources, names):
            shutil.copy2(source, f"{self.outbox}/.{name}.part")
        self.dropped_at = time.time()
        start = time.monotonic()
        for name in names:
            os.rename(f"{self.outbox}/.{name}.part", f"{self.outbox}/{name}")
        wanted = set(names)
        wait_for(f"{len(names)} receipt(s)", lambda: wanted <= self.sent_names(), timeout, interval, self.tail_logs)
        return time.monotonic() - start

    def published(self):
        """Name → size of every record published at the facility."""
        found = {}
        for folder in glob.glob(f"{self.received}/*"):
            for name in os.listdir(folder):
                if not name.startswith("."):
                    found[name] = os.path.getsize(f"{folder}/{name}")
        return found

    def check_published(self, sources):
        published = self.published()
        for source in sources:
            name = os.path.basename(source)
            if published.get(name) != os.path.getsize(source):
                raise SystemExit(f"bench: {name} was not published intact at the facility (found {published.get(name)})")

    def clear_delivered(self):
        """Removes what finished bundles left (sent originals, published records, evidence)."""
        for folder in (self.sent, self.received, f"{self.gp}/spool/evidence/out", f"{self.gp}/spool/evidence/in",
                       f"{self.yoi}/spool/evidence/out", f"{self.yoi}/spool/evidence/in"):
            for entry in glob.glob(f"{folder}/*"):
                shutil.rmtree(entry) if os.path.isdir(entry) else os.unlink(entry)

    # --- baseline: age, OpenSSH sftp, age -d ------------------------------------------------

    def sftp_batch(self, lines):
        batch = f"{self.work}/batch"
        with open(batch, "w") as f:
            f.write("".join(line + "\n" for line in lines))
        subprocess.run([*self.sftp, "-b", batch, self.target], check=True, capture_output=True)

    def sh(self, command):
        subprocess.run(["bash", "-o", "pipefail", "-c", command], check=True)

    def baseline_big(self, source):
        enc, out = f"{self.work}/base.gz.age", f"{self.work}/base.out"
        start = time.monotonic()
        self.sh(f"gzip -1 < '{source}' | age -r {self.c['age_recipient']} > '{enc}'")
        self.sftp_batch([f"put {enc} /{YOI}/.base.part", f"rename /{YOI}/.base.part /{YOI}/base.age"])
        self.sh(f"age -d -i '{self.work}/age.key' < '{self.mailbox}/base.age' | gunzip > '{out}'")
        elapsed = time.monotonic() - start
        if os.path.getsize(out) != os.path.getsize(source):
            raise SystemExit("bench: the baseline's output differs in size from its input")
        for path in (enc, out, f"{self.mailbox}/base.age"):
            os.unlink(path)
        return elapsed

    def baseline_many(self, sources):
        enc, out = f"{self.work}/base-enc", f"{self.work}/base-out"
        os.makedirs(enc)
        os.makedirs(out)
        names = [os.path.basename(s) for s in sources]
        start = time.monotonic()
        for source, name in zip(sources, names):
            subprocess.run(["age", "-r", self.c["age_recipient"], "-o", f"{enc}/{name}.age", source], check=True)
        self.sftp_batch([line for name in names for line in
                         (f"put {enc}/{name}.age /{YOI}/.{name}.part", f"rename /{YOI}/.{name}.part /{YOI}/{name}.age")])
        for name in names:
            subprocess.run(["age", "-d", "-i", f"{self.work}/age.key", "-o", f"{out}/{name}", f"{self.mailbox}/{name}.age"], check=True)
        elapsed = time.monotonic() - start
        if len(os.listdir(out)) != len(names):
            raise SystemExit("bench: the baseline lost files")
        shutil.rmtree(enc)
        shutil.rmtree(out)
        for name in names:
            os.unlink(f"{self.mailbox}/{name}.age")
        return elapsed

    # --- journal (read-only) ------------------------------------------------------------------

    def journal_path(self, home):
        return f"{home}/spool/journal.sqlite"

    def query(self, home, sql, every=False):
        """The first row of `sql` on a home's journal (every row with `every`), read-only; None
        while the journal is not created or migrated yet."""
        path = self.journal_path(home)
        if not os.path.exists(path):
            return None
        try:
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
            try:
                cursor = db.execute(sql)
                return cursor.fetchall() if every else cursor.fetchone()
            finally:
                db.close()
        except sqlite3.OperationalError:
            return None  # not created or migrated yet

    # --- rows -------------------------------------------------------------------------------

    def row_big(self, row, source, label, target):
        self.gateways()
        ours, base = [], []
        for i in range(self.runs):
            log(f"row {row}: Gatehouse run {i + 1}/{self.runs}")
            ours.append(self.drop_and_wait([source], timeout=1800, interval=0.05))
            self.check_published([source])
            history = self.history_of_last()
            self.clear_delivered()
            log(f"row {row}: Gatehouse {ours[-1]:.2f} s; baseline run {i + 1}/{self.runs}")
            base.append(self.baseline_big(source))
            log(f"row {row}: baseline {base[-1]:.2f} s")
        peaks = {name: self.peak_mib(name) for name in ("gp", "yoi")}
        self.reset()
        g, b = median(ours), median(base)
        size = os.path.getsize(source) / MIB
        ratio = g / b
        lines = [f"| {row} | {size:.0f} MiB {label}: drop → published at the facility → receipt verified | "
                 f"{g:.2f} s ({size * 1.048576 / g:.0f} MB/s) | {b:.2f} s | {ratio:.2f}× | ≤ {target}× | "
                 f"{'met' if ratio <= target else 'missed'} |"]
        notes = [f"Row {row}: Gatehouse runs {', '.join(f'{t:.2f}' for t in ours)} s; baseline runs "
                 f"{', '.join(f'{t:.2f}' for t in base)} s. Last bundle's journal at the practice (ms after its claim): {history}."]
        return dict(lines=lines, notes=notes, peaks=peaks)

    def history_of_last(self):
        """The practice's journal timeline of its newest bundle, relative to its claim."""
        row = self.query(self.gp, "SELECT bundleID FROM outgoing ORDER BY createdAt DESC LIMIT 1")
        if not row:
            return "not available"
        out = subprocess.run([self.gatehouse, "status", row[0], "--home", self.gp, "--json"], capture_output=True, text=True)
        try:
            steps = json.loads(out.stdout)["history"]
        except (ValueError, KeyError):
            return "not available"
        import datetime
        at = [datetime.datetime.fromisoformat(s["at"].replace("Z", "+00:00")).timestamp() for s in steps]
        return ", ".join(f"{s['state']} +{(t - at[0]) * 1000:.0f}" for s, t in zip(steps, at))

    def row1(self):
        return self.row_big(1, self.c["compressible"], "compressible export (XML-like records)", 0.45)

    def row2(self):
        return self.row_big(2, self.c["random"], "incompressible (random bytes)", 0.15)

    def row3(self):
        folder = self.c["records_50k"]
        sources = sorted(glob.glob(f"{folder}/*"))
        self.gateways()
        ours, base = [], []
        for i in range(self.runs):
            log(f"row 3: Gatehouse run {i + 1}/{self.runs}")
            ours.append(self.drop_and_wait(sources, timeout=900, interval=0.05))
            self.check_published(sources)
            history = self.history_of_last()
            self.clear_delivered()
            log(f"row 3: Gatehouse {ours[-1]:.2f} s; baseline run {i + 1}/{self.runs}")
            base.append(self.baseline_many(sources))
            log(f"row 3: baseline {base[-1]:.2f} s")
        bundles = self.query(self.gp, "SELECT COUNT(*) FROM outgoing")[0]
        self.reset()
        g, b, n = median(ours), median(base), len(sources)
        kb = sum(os.path.getsize(s) for s in sources) / n / 1000
        lines = [f"| 3 | {n:,} records of ~{kb:.0f} KB dropped at once → all published → all receipts verified | "
                 f"{g:.2f} s ({n / g:,.0f} records/s) | {b:.2f} s ({n / b:,.0f} records/s) | {g / b:.2f}× | "
                 f"≥ 1,000 records/s | {'met' if n / g >= 1000 else 'missed'} |"]
        notes = [f"Row 3: Gatehouse runs {', '.join(f'{t:.2f}' for t in ours)} s ({bundles} bundles over {self.runs} runs "
                 f"and the warm-up); baseline runs {', '.join(f'{t:.2f}' for t in base)} s. Newest bundle's journal "
                 f"(ms after its claim): {history}."]
        return dict(lines=lines, notes=notes)

    def row4(self):
        sources = sorted(glob.glob(f"{self.c['records_100k']}/*"))
        records = self.c["records"]
        self.gateways()
        for source in sources[:3]:
            self.drop_and_wait([source], timeout=60, interval=0.001)
        ours, dropped = [], {}
        for source in sources[3:3 + records]:
            ours.append(self.drop_and_wait([source], timeout=60, interval=0.001))
            dropped[os.path.basename(source)] = (self.dropped_at, ours[-1])
        self.check_published(sources[:3 + records])
        stages = self.latency_stages(dropped)
        self.clear_delivered()
        base = [self.baseline_many([source]) for source in sources[:min(records, 30)]]
        self.reset()
        o50, o99, b50, b99 = (percentile(v, p) * 1000 for v, p in ((ours, 50), (ours, 99), (base, 50), (base, 99)))
        met = o50 <= 50 and o99 <= 200
        lines = [f"| 4 | one ~100 KB record, drop → receipt verified, warm connections ({len(ours)} records; baseline {len(base)}, "
                 f"new connection, no receipt) | p50 {o50:.0f} ms, p99 {o99:.0f} ms | p50 {b50:.0f} ms, p99 {b99:.0f} ms | "
                 f"{o50 / b50:.2f}× at p50 | p50 ≤ 50 ms, p99 ≤ 200 ms | {'met' if met else 'missed'} |"]
        return dict(lines=lines, notes=[stages] if stages else [])

    def latency_stages(self, dropped):
        """Median milliseconds of each stage of a single record's way, from both journals (one
        machine, one clock): rename → claimed → sealed → delivered → fetched by the facility →
        receipt verified at the practice → original seen in spool/sent/."""
        out = {}
        for name, bundle, state, at in self.query(self.gp, "SELECT f.name, t.bundleID, t.state, t.at FROM outgoingFile f JOIN "
                                                           "transition t ON t.bundleID = f.bundleID AND t.direction = 'out'", every=True) or []:
            out.setdefault(name, {"bundle": bundle})[state] = at / 1000
        fetched = dict(self.query(self.yoi, "SELECT bundleID, receivedAt FROM incoming", every=True) or [])
        steps = {k: [] for k in ("claim", "seal", "deliver", "fetch", "process", "release")}
        for name, (wall, elapsed) in dropped.items():
            t = out.get(name, {})
            got = fetched.get(t.get("bundle"))
            if got is None or not all(k in t for k in ("queued", "sealed", "delivered", "acknowledged")):
                continue
            points = [wall, t["queued"], t["sealed"], t["delivered"], got / 1000, t["acknowledged"], wall + elapsed]
            for key, a, b in zip(steps, points, points[1:]):
                steps[key].append((b - a) * 1000)
        if not steps["claim"]:
            return None
        said = ", ".join(f"{key} {median(v):.1f}" for key, v in steps.items())
        return (f"Row 4: median ms per stage over {len(steps['claim'])} records (both journals, one clock): {said} "
                f"(claim: rename → journalled; seal: → sealed and synced; deliver: → in the relay's mailbox; fetch: → "
                f"the facility told of it and holding its copy; process: → verified, decrypted, published and journalled "
                f"there, the signed receipt uploaded, fetched and verified at the practice; release: → the original "
                f"seen in spool/sent/ by the bench, polling every millisecond).")

    def row5(self, peaks):
        """Peaks of rows 1-2 (passed in), then 10,000 records queued while the relay is down."""
        sources = sorted(glob.glob(f"{self.c['small']}/*"))[:10000]
        self.reset()
        self.stop("relay")
        self.start("gp")
        os.makedirs(self.outbox, exist_ok=True)
        for source in sources:
            shutil.copy2(source, f"{self.outbox}/.{os.path.basename(source)}.part")
        start = time.monotonic()
        for source in sources:
            name = os.path.basename(source)
            os.rename(f"{self.outbox}/.{name}.part", f"{self.outbox}/{name}")

        def progress():
            files = self.query(self.gp, "SELECT COUNT(*) FROM outgoingFile")
            queued = self.query(self.gp, "SELECT COUNT(*) FROM outgoing WHERE state = 'queued'")
            return (files[0], queued[0]) if files and queued else None
        finished = wait_progress(f"{len(sources):,} records claimed and sealed", progress,
                                 lambda v: v[0] >= len(sources) and v[1] == 0)
        sealed_after = time.monotonic() - start
        peaks[f"{len(sources):,} queued records (relay down): practice"] = self.peak_mib("gp")
        files, queued = progress() or (0, 0)
        bundles = self.query(self.gp, "SELECT COUNT(*) FROM outgoing")[0]
        if not finished:
            self.tail_logs()
        self.reset()
        worst = max(peaks.values())
        detail = "; ".join(f"{k} {v:.1f} MiB" for k, v in peaks.items())
        stuck = "" if finished else f" (pipeline stuck: {queued} of {bundles} bundles never left `queued`)"
        lines = [f"| 5 | peak memory (VmHWM) of each gateway daemon{stuck} | {detail} | — | — | ≤ 64 MiB | "
                 f"{'met' if worst <= 64 else 'missed'} |"]
        if finished:
            outcome = f"were all claimed and sealed ({bundles} bundles) {sealed_after:.1f} s after the first rename"
        else:
            outcome = (f"were claimed ({files:,} files journalled in {bundles} bundles), but {queued} bundles were still "
                       f"`queued` (never sealed) when the bench gave up {sealed_after:.0f} s after the first rename, "
                       f"after a minute without progress; the peak was read then")
        notes = [f"Row 5: the {len(sources):,} queued records (~{os.path.getsize(sources[0]) / 1000:.1f} KB each, renamed in "
                 f"while the relay was stopped) {outcome}."]
        return dict(lines=lines, notes=notes)

    def row6(self):
        sources = sorted(glob.glob(f"{self.c['small']}/*"))
        self.reset()
        self.stop("relay")
        os.makedirs(self.outbox, exist_ok=True)
        for source in sources:
            shutil.copy2(source, f"{self.outbox}/{os.path.basename(source)}")
        log(f"row 6: {len(sources):,} files waiting; starting the practice's gateway")
        wall, start = time.time(), time.monotonic()
        self.start("gp")

        def claimed():
            row = self.query(self.gp, "SELECT COUNT(*) FROM outgoingFile")
            return row[0] if row else None
        finished = wait_progress(f"{len(sources):,} records claimed", claimed, lambda n: n >= len(sources), stall=30)
        seen = time.monotonic() - start
        count = claimed() or 0
        last = self.query(self.gp, "SELECT MAX(at) FROM transition WHERE direction = 'out' AND state = 'queued'")[0]
        first = self.query(self.gp, "SELECT MIN(at) FROM transition WHERE direction = 'out' AND state = 'queued'")[0]
        if last is None:
            last = first = wall * 1000  # nothing claimed at all
        claim_s = last / 1000 - wall
        peak = self.peak_mib("gp")
        self.reset()
        statuses, bundles = self.status_on_million()
        self.reset()
        claim = f"{claim_s:.2f} s" if finished else f"only {count:,} claimed; stuck after {seen:.0f} s"
        lines = [f"| 6 | start with {len(sources):,} files waiting in the outbox → all claimed (journal) | "
                 f"{claim} | — | — | ≤ 10 s | {'met' if finished and claim_s <= 10 else 'missed'} |"]
        for label, t in statuses:
            lines.append(f"| 6 | `gatehouse {label}` on a journal of {bundles:,} bundles (process start included) | "
                         f"{t * 1000:.0f} ms | — | — | ≤ 50 ms | {'met' if t <= 0.05 else 'missed'} |")
        notes = [f"Row 6: relay stopped, so the gateway only claims and seals. First claim journalled {first / 1000 - wall:.2f} s "
                 f"after the daemon was started, the last {claim_s:.2f} s (seen by polling at {seen:.2f} s); the practice's peak "
                 f"memory meanwhile {peak:.1f} MiB. Status times are medians of 5 wall-clock runs with output read from a pipe."]
        return dict(lines=lines, notes=notes)

    def status_on_million(self):
        """Builds (or reuses) a synthetic journal of 1,000,000 bundles in the practice's
        schema and times three status queries on it."""
        total = self.c["journal_bundles"]
        self.start("gp")
        wait_for("the journal's schema", lambda: self.query(self.gp, "SELECT COUNT(*) FROM outgoing"), 60, 0.1)
        time.sleep(1)
        self.stop("gp")
        path = self.journal_path(self.gp)
        db = sqlite3.connect(path)
        schema = "\n".join(r[0] or "" for r in db.execute("SELECT sql FROM sqlite_master ORDER BY name"))
        db.close()
        # Rebuilt when the schema or the way it is filled (this file's build_journal) changes.
        with open(__file__, "rb") as f:
            key = hashlib.sha256(schema.encode() + f.read()).hexdigest()[:12]
        cached = f"{self.c['cache']}/journal-{total}-{key}.sqlite"
        for suffix in ("-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.unlink(path + suffix)
        if os.path.exists(cached):
            log(f"row 6: reusing the synthetic journal {os.path.basename(cached)}")
        else:
            log(f"row 6: building a synthetic journal of {total:,} bundles (cached for the next run)…")
            build_journal(path, total)
            shutil.copyfile(path, cached + ".part")
            os.rename(cached + ".part", cached)
        shutil.copyfile(cached, path)
        some = self.query(self.gp, f"SELECT bundleID FROM outgoing LIMIT 1 OFFSET {total // 3}")[0]
        results = []
        for label, args in (("status", []), ("status <bundle-id>", [some]), ("status --json", ["--json"])):
            times = []
            for _ in range(5):
                start = time.monotonic()
                out = subprocess.run([self.gatehouse, "status", *args, "--home", self.gp], capture_output=True)
                times.append(time.monotonic() - start)
                if out.returncode != 0:
                    raise SystemExit(f"bench: gatehouse {label} failed: {out.stderr.decode(errors='replace')}")
            results.append((label, median(times)))
            log(f"row 6: gatehouse {label}: {median(times) * 1000:.0f} ms")
        return results, total


def build_journal(path, total):
    """Inserts `total` outgoing bundles with one file each and their transitions, in one
    transaction: 97% acknowledged, the rest spread over the other states."""
    rng = random.Random(6)
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode = DELETE")
    db.execute("PRAGMA synchronous = OFF")
    now = int(time.time() * 1000)
    start = now - 365 * 86_400_000
    step = (now - start) // total
    path_order = ["queued", "sealed", "delivered", "acknowledged"]
    # The journal keeps a receipt ([UInt8], Codable) as GRDB stores arrays: JSON text.
    receipt = json.dumps(list(rng.randbytes(420)), separators=(",", ":"))

    def bundles():
        for i in range(total):
            roll = rng.random()
            state = ("acknowledged" if roll < 0.97 else "delivered" if roll < 0.98 else "sealed" if roll < 0.985
                     else "queued" if roll < 0.99 else "failed" if roll < 0.995 else "expired")
            created = start + i * step
            yield i, rng.getrandbits(128), state, created

    rows = list(bundles())
    with db:
        db.executemany(
            "INSERT INTO outgoing (bundleID, partner, state, createdAt, updatedAt, expiresAt, attempts, nextAttemptAt, "
            "bundleSHA256, bundleSize, lastError, receipt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ((f"{bid:032x}", YOI, state, created, created + 400, created + 86_400_000, 0 if state == "queued" else 1,
              created, None if state == "queued" else hashlib.sha256(str(i).encode()).hexdigest(),
              None if state == "queued" else 52_000 + i % 997,
              f"{YOI}'s receipt says failed: decryption-failed" if state == "failed" else None,
              receipt if state in ("acknowledged", "failed") else None)
             for i, bid, state, created in rows))
        db.executemany(
            "INSERT INTO outgoingFile (bundleID, position, name, size, sourcePath, workPath) VALUES (?, 0, ?, ?, ?, ?)",
            ((f"{bid:032x}", f"record-{i:07d}.xml", 51_000 + i % 997, f"spool/outbox/{YOI}/record-{i:07d}.xml",
              f"spool/work/out/{bid:032x}/record-{i:07d}.xml") for i, bid, state, created in rows))

        def transitions():
            for i, bid, state, created in rows:
                steps = path_order[:path_order.index(state) + 1] if state in path_order else ["queued", "sealed", "delivered", state]
                for k, s in enumerate(steps):
                    yield f"{bid:032x}", s, created + k * 100, None
        db.executemany("INSERT INTO transition (bundleID, direction, state, at, detail) VALUES (?, 'out', ?, ?, ?)", transitions())
    db.execute("PRAGMA journal_mode = WAL")
    db.close()


def run(config_path):
    with open(config_path) as f:
        config = json.load(f)
    bench = Bench(config)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    results = config["results"]
    os.makedirs(results, exist_ok=True)
    rows = config["rows"]
    peaks = {}
    try:
        for row in rows:
            log(f"row {row}…")
            if row in (1, 2):
                out = getattr(bench, f"row{row}")()
                kind = "compressible" if row == 1 else "incompressible"
                for name, org in (("gp", "practice"), ("yoi", "facility")):
                    peaks[f"row {row} ({kind}): {org}"] = out["peaks"][name]
            elif row == 5:
                previous = f"{results}/row5-peaks.json"
                if not peaks and os.path.exists(previous):
                    with open(previous) as f:
                        peaks = json.load(f)  # rows 1-2 from an earlier run of this results folder
                out = bench.row5(dict(peaks))
            else:
                out = getattr(bench, f"row{row}")()
            if row in (1, 2):
                with open(f"{results}/row5-peaks.json", "w") as f:
                    json.dump(peaks, f)
            fragment = dict(row=row, lines=out["lines"], notes=out["notes"],
                            when=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), knobs=config["knobs"])
            with open(f"{results}/row{row}.json", "w") as f:
                json.dump(fragment, f)
            print("\n".join(out["lines"]), flush=True)
    finally:
        bench.stop_all()


def assemble(results, machine, out):
    fragments = []
    for path in sorted(glob.glob(f"{results}/row[0-9].json")):
        with open(path) as f:
            fragments.append(json.load(f))
    with open(machine) as f:
        facts = f.read().rstrip("\n")
    text = [
        "# Gatehouse benchmarks",
        "",
        "Written by `make bench` (scripts/bench.sh); not part of `make test`. Every row runs Gatehouse and its",
        "baseline back to back on the same data on this machine, through a relay on 127.0.0.1 (OpenSSH sshd",
        "running `gatehouse sftp-server`). Times are medians; the ratio is Gatehouse's time divided by the",
        "baseline's (below 1 is faster). Baseline: `gzip -1 | age -r` to a file, a new-connection OpenSSH `sftp`",
        "put + rename into the facility's mailbox on the same relay (same key and pinned host key), then",
        "`age -d | gunzip` of the uploaded file; per-file rows use `age` per file and one `sftp` session.",
        "",
        facts,
        "",
        "| row | what | Gatehouse | baseline | ratio | target | verdict |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for fragment in fragments:
        text += fragment["lines"]
    text += ["", "Gatehouse's side is timed from the rename of the record into `spool/outbox/YOI123/` until the",
             "original is in `spool/sent/` (the facility verified, decrypted and published it, and the practice",
             "verified its signed receipt); the published copy's size is then checked. Gateways use the",
             "configuration `gatehouse init` writes, unchanged: records renamed in are claimed at once (the",
             "2 s `stable_window` applies only to files found by a scan, as in row 6), and the facility learns",
             "of new mail from the relay at once (`poll_interval` does not apply). Each row starts from empty",
             "spools with sessions warmed by two small records.", ""]
    for fragment in fragments:
        relevant = KNOBS[fragment["row"]]
        knobs = ", ".join(f"{k}={v}" for k, v in fragment["knobs"].items() if k in relevant)
        text.append(f"- Row {fragment['row']} measured {fragment['when']} ({knobs}).")
        text += [f"  {note}" for note in fragment["notes"]]
    # The hand-written profile of the rows that miss (bench/PROFILE.md) follows the figures.
    profile = os.path.join(os.path.dirname(out), "PROFILE.md")
    if os.path.exists(profile):
        with open(profile) as f:
            text += ["", f.read().rstrip("\n")]
    # The directory's section (written by scripts/bench-directory.sh, always last) is kept as it was.
    if os.path.exists(out):
        with open(out) as f:
            previous = f.read()
        if "\n## The directory at national scale" in previous:
            text += ["", previous[previous.index("\n## The directory at national scale") + 1:].rstrip("\n")]
    with open(out, "w") as f:
        f.write("\n".join(text) + "\n")


if __name__ == "__main__":
    if sys.argv[1] == "run":
        run(sys.argv[2])
    elif sys.argv[1] == "assemble":
        assemble(*sys.argv[2:5])
    else:
        sys.exit(__doc__)
