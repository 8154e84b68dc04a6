"""The web benchmark (scripts/bench-web.sh): the Inbox page of a gateway whose journal holds
100,000 received packs, under wrk with 50 concurrent signed-in connections; the search by NHS
number; the gateway's memory idle and under load. Prints the result lines (Markdown) on stdout.

    python3 bench_web.py GATEHOUSE WORK CACHE PACKS CONNECTIONS SECONDS
"""
import hashlib, http.client, importlib.util, json, os, random, re, signal, sqlite3, statistics, subprocess, sys
import threading, time, urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The browser test's RFC 6238 code generator: one copy of it.
_spec = importlib.util.spec_from_file_location("web_browser_test", os.path.join(ROOT, "scripts/web-browser-test.py"))
_browser = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_browser)
totp, free_port = _browser.totp, _browser.free_port

SEARCHES = 200  # sequential NHS-number searches timed (after 20 to warm up)


def log(text):
    print(f"bench-web: {text}", file=sys.stderr, flush=True)


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


def valid_nhs(n):
    """True for ten digits with a valid modulus-11 check digit (FORMAT.md §3.8)."""
    digits = [int(c) for c in n]
    check = 11 - sum(d * w for d, w in zip(digits[:9], range(10, 1, -1))) % 11
    check = 0 if check == 11 else check
    return check != 10 and check == digits[9]


def memory(pid):
    """(VmRSS, VmHWM) of a process, in MiB."""
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                values[line.split(":")[0]] = int(line.split()[1]) / 1024
    return values["VmRSS"], values["VmHWM"]


def build_journal(path, packs, numbers):
    """Fills the (migrated, empty) journal with `packs` received bundles, 99% published with a
    verified context naming one or two of `numbers` (and indexed), 1% refused or held."""
    rng = random.Random(15)
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode = DELETE")
    db.execute("PRAGMA synchronous = OFF")
    now = int(time.time() * 1000)
    start = now - 365 * 86_400_000
    step = (now - start) // packs
    senders = [f"A8{1000 + i}" for i in range(40)]
    workflows = ["reception-summary", "release-summary", "gp-record", "medication", "other"]
    receipt = json.dumps(list(rng.randbytes(420)), separators=(",", ":"))
    incoming, pack_rows, index_rows = [], [], []
    for i in range(packs):
        bid = f"{rng.getrandbits(128):032x}"
        roll = rng.random()
        state = "published" if roll < 0.99 else "rejected" if roll < 0.995 else "held"
        sender = senders[i % len(senders)]
        digest = hashlib.sha256(bid.encode()).hexdigest()
        files = json.dumps([{"name": "summary.xml", "size": 51_000 + i % 997, "sha256": digest},
                            {"name": "medications.csv", "size": 2_000 + i % 97, "sha256": digest}])
        reason = None if state == "published" else (
            "unknown-sender" if state == "rejected" else f"unknown-sender: {sender} is not a partner here")
        incoming.append((bid, sender, state, start + i * step, digest, reason,
                         f"spool/received/{sender}/{bid}" if state == "published" else None,
                         files if state == "published" else None, receipt))
        if state == "published":
            named = rng.sample(numbers, 1 if rng.random() < 0.8 else 2)
            pack_rows.append((bid, f"Reception summary: patient {i}", workflows[i % len(workflows)], " ".join(named)))
            index_rows += [(n, bid) for n in named]
    with db:
        db.executemany("INSERT INTO incoming (bundleID, sender, state, receivedAt, bundleSHA256, reason, "
                       "publishedPath, files, receipt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", incoming)
        db.executemany("INSERT INTO pack (bundleID, direction, pack, subject, workflow, nhsNumbers) "
                       "VALUES (?, 'in', NULL, ?, ?, ?)", pack_rows)
        db.executemany("INSERT INTO packNHS (nhs, direction, bundleID) VALUES (?, 'in', ?)", index_rows)
        db.executemany("INSERT INTO transition (bundleID, direction, state, at, detail) VALUES (?, 'in', ?, ?, NULL)",
                       ((row[0], row[2], row[3]) for row in incoming))
    db.execute("PRAGMA journal_mode = WAL")
    db.close()


class Client:
    """One keep-alive HTTP connection with the session cookie."""

    def __init__(self, port):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookie = None

    def request(self, method, path, form=None):
        headers = {"Cookie": self.cookie} if self.cookie else {}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = f"http://127.0.0.1:{self.connection.port}"
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";")[0]
        return response.status, response.getheader("Location"), text

    @staticmethod
    def csrf(text):
        match = re.search(r'name="csrf" value="([^"]+)"', text)
        if not match:
            raise SystemExit("bench-web: no CSRF token on the page")
        return match.group(1)

    def sign_in(self, user, password):
        """Password, then TOTP enrolment (the secret read from the page, the code computed)."""
        _, _, page = self.request("GET", "/signin")
        status, location, _ = self.request("POST", "/signin", {"csrf": self.csrf(page), "username": user,
                                                                "password": password})
        if status != 303:
            raise SystemExit(f"bench-web: password step answered {status}")
        _, _, page = self.request("GET", location)
        secret = re.search(r'<code class="secret">([^<]+)</code>', page).group(1)
        status, location, _ = self.request("POST", location, {"csrf": self.csrf(page), "code": totp(secret)})
        if status != 303 or location != "/":
            raise SystemExit(f"bench-web: code step answered {status} {location}")


def query_times(journal, numbers):
    """The journal's part of a search alone (the Inbox's SQL, read-only): median ms per query
    through the NHS-number index, and by the number-list scan used before it."""
    db = sqlite3.connect(f"file:{journal}?mode=ro", uri=True)
    columns = "i.*, p.subject, p.workflow, p.nhsNumbers"
    join = "LEFT JOIN pack p ON p.bundleID = i.bundleID AND p.direction = 'in'"
    indexed = (f"SELECT {columns} FROM packNHS n CROSS JOIN incoming i ON i.bundleID = n.bundleID {join} "
               "WHERE n.nhs = ? AND n.direction = 'in' ORDER BY i.receivedAt DESC LIMIT 51 OFFSET 0")
    scanned = (f"SELECT {columns} FROM incoming i {join} WHERE (' ' || p.nhsNumbers || ' ') LIKE ? "
               "ORDER BY i.receivedAt DESC LIMIT 51 OFFSET 0")
    result = []
    for sql, argument in ((indexed, lambda n: n), (scanned, lambda n: f"% {n} %")):
        times = []
        for number in numbers:
            begin = time.monotonic()
            db.execute(sql, (argument(number),)).fetchall()
            times.append((time.monotonic() - begin) * 1000)
        result.append(statistics.median(times))
    db.close()
    return result


def wrk(port, cookie, connections, seconds):
    """wrk's latency distribution of GET /inbox: (p50 ms, p99 ms, requests/s, non-2xx)."""
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s",
                          "-H", f"Cookie: {cookie}", f"http://127.0.0.1:{port}/inbox"],
                         capture_output=True, text=True, check=True).stdout

    def ms(label):
        value, unit = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return ms("50%"), ms("99%"), rate, int(errors.group(1)) if errors else 0


def main(gatehouse, work, cache, packs, connections, seconds):
    packs, connections, seconds = int(packs), int(connections), int(seconds)
    home = f"{work}/yoi"
    def gh(*args):
        return subprocess.run([gatehouse, *args], check=True, capture_output=True, text=True).stdout
    gh("init", "--home", home, "--org", "YOI123", "--name", "Bench Prison", "--mailbox", f"dir:{work}/mail")
    os.makedirs(f"{work}/mail", exist_ok=True)
    password = re.search(r"password: (\S+)", gh("users", "add", "bench.nurse", "--role", "clinician",
                                                  "--home", home)).group(1)
    port = free_port()
    command = [gatehouse, "run", "--home", home, "--web", f"127.0.0.1:{port}"]
    journal = f"{home}/spool/journal.sqlite"

    def start():
        process = subprocess.Popen(command, stdout=open(f"{work}/gateway.log", "a"), stderr=subprocess.STDOUT)
        for _ in range(300):
            try:
                Client(port).request("GET", "/signin")
                return process
            except OSError:
                time.sleep(0.1)
        raise SystemExit(f"bench-web: the gateway did not serve its pages (see {work}/gateway.log)")

    def stop(process):
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)

    stop(start())  # creates and migrates the journal
    # Test NHS numbers (999 000 0000 - 999 999 9999), half as many as packs: about 2.4 packs a person.
    numbers = [str(n) for n in range(9_990_000_000, 9_999_999_999, 7) if valid_nhs(str(n))][:packs // 2]
    db = sqlite3.connect(journal)
    schema = "\n".join(r[0] or "" for r in db.execute("SELECT sql FROM sqlite_master ORDER BY name"))
    db.close()
    with open(__file__, "rb") as f:
        key = hashlib.sha256(schema.encode() + f.read()).hexdigest()[:12]
    cached = f"{cache}/web-journal-{packs}-{key}.sqlite"
    for suffix in ("-wal", "-shm"):
        if os.path.exists(journal + suffix):
            os.unlink(journal + suffix)
    if not os.path.exists(cached):
        log(f"building a synthetic journal of {packs:,} received packs (cached for the next run)…")
        os.makedirs(cache, exist_ok=True)
        build_journal(journal, packs, numbers)
        os.replace(journal, cached + ".part")
        os.rename(cached + ".part", cached)
    subprocess.run(["cp", cached, journal], check=True)

    gateway = start()
    try:
        time.sleep(2)
        client = Client(port)
        client.sign_in("bench.nurse", password)
        status, _, page = client.request("GET", "/inbox")
        if status != 200 or "Showing 1 to 50 (more below)." not in page:
            raise SystemExit(f"bench-web: the inbox answered {status} without 50 packs")
        for _ in range(20):
            client.request("GET", "/inbox")
        idle = memory(gateway.pid)
        log(f"idle: VmRSS {idle[0]:.1f} MiB, VmHWM {idle[1]:.1f} MiB")

        # Searches: one person's packs by NHS number, a POST each (numbers never go in a URL).
        rng = random.Random(17)
        token = Client.csrf(page)
        times, found = [], 0
        for i in range(SEARCHES + 20):
            number = rng.choice(numbers)
            spaced = f"{number[:3]} {number[3:6]} {number[6:]}"
            begin = time.monotonic()
            status, _, text = client.request("POST", "/inbox", {"csrf": token, "nhs": spaced})
            elapsed = (time.monotonic() - begin) * 1000
            if status != 200:
                raise SystemExit(f"bench-web: a search answered {status}")
            if i >= 20:
                times.append(elapsed)
                found += text.count('href="/pack/')
        search_p50, search_p99 = statistics.median(times), percentile(times, 99)
        query_indexed, query_scanned = query_times(journal, rng.sample(numbers, 50))
        log(f"journal query alone: {query_indexed:.2f} ms with the index, {query_scanned:.1f} ms by the list scan")
        log(f"search: p50 {search_p50:.1f} ms, p99 {search_p99:.1f} ms ({found / SEARCHES:.1f} packs a search)")

        # Load: wrk on the first page, memory sampled meanwhile.
        samples = []
        begin = time.monotonic()

        def sample():
            while time.monotonic() - begin < seconds:
                samples.append(memory(gateway.pid)[0])
                time.sleep(0.5)
        sampler = threading.Thread(target=sample)
        sampler.start()
        p50, p99, rate, errors = wrk(port, client.cookie, connections, seconds)
        sampler.join()
        loaded = memory(gateway.pid)
        load = os.getloadavg()[0]
        log(f"inbox under wrk: p50 {p50:.1f} ms, p99 {p99:.1f} ms, {rate:.0f} pages/s, {errors} non-2xx; "
            f"VmRSS up to {max(samples):.1f} MiB, VmHWM {loaded[1]:.1f} MiB")
        if errors:
            raise SystemExit(f"bench-web: {errors} inbox pages were not 200 under load")
    finally:
        stop(gateway)

    # Said in the row's notes: a debug build renders pages several times slower.
    build = "release build" if "/release/" in gatehouse else f"NOT a release build: {os.path.basename(os.path.dirname(gatehouse))}"

    def verdict(ok):
        return "met" if ok else "missed"
    lines = [
        f"| web | Inbox page (50 newest of {packs:,} received packs), {connections} concurrent signed-in connections "
        f"under `wrk` for {seconds} s | p50 {p50:.1f} ms, p99 {p99:.1f} ms ({rate:.0f} pages/s) | — | — | "
        f"p99 ≤ 100 ms | {verdict(p99 <= 100)} |",
        f"| web | search by NHS number on the same journal (one POST at a time, {SEARCHES} numbers) | "
        f"p50 {search_p50:.1f} ms, p99 {search_p99:.1f} ms (its journal query: {query_indexed:.2f} ms; "
        f"{query_scanned:.1f} ms by the number-list scan before the index) | — | — | p50 ≤ 20 ms | "
        f"{verdict(search_p50 <= 20)} |",
        f"| web | gateway memory (`run --web`) idle / under that load | VmRSS {idle[0]:.1f} / {max(samples):.1f} MiB, "
        f"VmHWM {loaded[1]:.1f} MiB | — | — | — | — |",
    ]
    notes = [
        f"Web: one `gatehouse run --web` ({build}) with a synthetic SQLite journal of {packs:,} received bundles "
        f"(99% published, each pack naming one or two of {len(numbers):,} test NHS numbers); a clinician signed in "
        f"by script (password, then TOTP enrolment with the code computed); `wrk -t2 -c{connections}` on `GET /inbox` "
        f"with that session's cookie on the same 2 cores; every page view is written to the audit log as in use. "
        f"Searches found {found / SEARCHES:.1f} packs each on average. Load average when wrk ended: "
        f"{load:.1f} (other work on the machine shares its 2 cores).",
    ]
    print(json.dumps(dict(lines=lines, notes=notes)))


if __name__ == "__main__":
    main(*sys.argv[1:7])
