#!/usr/bin/env python3
"""The web pages in a real browser: Playwright (PyPI) driving Debian's Chromium.

Two gateways (a GP practice and a prison healthcare team) exchange through a shared-folder
mailbox, each with `gatehouse web`. A receptionist signs in with TOTP (enrolling it), sends a
pack of three files and watches it reach `acknowledged`; a nurse at the prison signs in, finds
it by NHS number, previews one file and downloads another (bytes equal to the original) and marks it handled; a
clinician is refused the Send page; a signed-out visit goes to sign-in; a cross-site POST
without the token is refused; an administrator opens Health and Audit. The prison serves HTTPS
itself with a certificate from `gatehouse web cert` (its fingerprint checked against what the
server presents). Every page is audited with axe-core (axe-playwright-python) against WCAG 2.2
A and AA: any serious or critical violation fails the test. With SCREENSHOTS=1 each page is
saved in docs/screenshots/.
"""
import base64, hashlib, hmac, os, re, shutil, signal, socket, ssl, struct, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GATEHOUSE = os.environ.get("GATEHOUSE_BIN", os.path.join(ROOT, ".build/debug/gatehouse"))
CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
SHOTS = os.path.join(ROOT, "docs/screenshots") if os.environ.get("SCREENSHOTS") == "1" else None
NHS = "999 000 0018"

def totp(secret_b32, at=None):
    """RFC 6238 with SHA-1, 6 digits, 30 s (what the enrolment page offers)."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    counter = int((at or time.time()) // 30)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000)

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close(); return port

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
FAILING_IMPACTS = ("serious", "critical")

def gh(*args):
    return subprocess.run([GATEHOUSE, *args], check=True, capture_output=True, text=True).stdout

def main():
    from playwright.sync_api import sync_playwright
    work = tempfile.mkdtemp(prefix="gatehouse-web-")
    procs = []
    try:
        mail = os.path.join(work, "mail")
        os.makedirs(mail)
        homes = {"practice": ("A81001", "Riverside Medical Practice"), "prison": ("YOI123", "HMP Northgate Healthcare")}
        for home, (ods, name) in homes.items():
            gh("init", "--home", f"{work}/{home}", "--org", ods, "--name", name, "--mailbox", f"dir:{mail}")
            config = f"{work}/{home}/gatehouse.toml"
            text = open(config).read().replace('stable_window = "2s"', 'stable_window = "200ms"')
            open(config, "w").write(text)
            gh("identity", "export", "--home", f"{work}/{home}", "-o", f"{work}/{home}.card")
        gh("partners", "add", "--home", f"{work}/prison", f"{work}/practice.card", "--yes")
        gh("partners", "add", "--home", f"{work}/practice", f"{work}/prison.card", "--yes")
        password = {}
        for home, user, role in [("practice", "rita.reception", "sender"), ("prison", "anna.nurse", "clinician"),
                                 ("prison", "mo.manager", "admin")]:
            out = gh("users", "add", user, "--role", role, "--home", f"{work}/{home}")
            password[user] = re.search(r"password: (\S+)", out).group(1)
        # The prison serves HTTPS itself, with a self-signed pair made by `gatehouse web cert`.
        made = gh("web", "cert", "--home", f"{work}/prison", "--host", "localhost", "--host", "127.0.0.1")
        fingerprint = re.search(r"SHA-256 fingerprint: (\S+)", made).group(1)
        tls_lines = "\n".join(line for line in made.splitlines() if line.startswith("tls_"))
        with open(f"{work}/prison/gatehouse.toml", "a") as config:
            config.write(tls_lines + "\n")
        ports = {}
        for home in homes:
            ports[home] = free_port()
            log = open(f"{work}/{home}.log", "w")
            procs.append(subprocess.Popen([GATEHOUSE, "run", "--home", f"{work}/{home}"], stdout=log, stderr=log))
            procs.append(subprocess.Popen([GATEHOUSE, "web", "--home", f"{work}/{home}", "--listen",
                                           f"127.0.0.1:{ports[home]}"], stdout=log, stderr=log))
        for port in ports.values():
            for _ in range(100):
                try: socket.create_connection(("127.0.0.1", port), 0.2).close(); break
                except OSError: time.sleep(0.1)
        # The certificate the server presents is the one `web cert` printed the fingerprint of.
        presented = ssl.PEM_cert_to_DER_cert(ssl.get_server_certificate(("127.0.0.1", ports["prison"])))
        digest = hashlib.sha256(presented).hexdigest().upper()
        assert ":".join(digest[i:i + 2] for i in range(0, 64, 2)) == fingerprint, (digest, fingerprint)
        files = {"summary.xml": b"<ClinicalDocument>" + NHS.encode() + b"</ClinicalDocument>\n",
                 "medications.csv": b"drug,dose\nmetformin,500mg\n", "scan.pdf": os.urandom(200_000)}
        for name, data in files.items():
            open(f"{work}/{name}", "wb").write(data)

        from axe_playwright_python.sync_playwright import Axe
        axe = Axe()
        audited = {}  # page name -> violations (all impacts)

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
            def shot(page, name):
                audit(page, name.removesuffix(".png"))
                if SHOTS: page.screenshot(path=os.path.join(SHOTS, name), full_page=True)

            def audit(page, name):
                """axe-core over the page as it is now (WCAG 2.2 A/AA and best practice)."""
                result = axe.run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS},
                                                "resultTypes": ["violations"]})
                audited[name] = [(v["impact"], v["id"], v["help"], [n["target"] for n in v["nodes"]][:3])
                                 for v in result.response["violations"]]

            def sign_in(base, user):
                # The prison's self-signed certificate is not in Chromium's store: the fingerprint
                # was checked above instead, as a person would in the certificate viewer.
                context = browser.new_context(accept_downloads=True, ignore_https_errors=True)
                page = context.new_page()
                page.goto(base + "/inbox")
                assert page.url.endswith("/signin"), page.url   # signed out: sent to sign-in
                shot(page, "signin.png")
                # Keyboard only (WCAG 2.1.1): Tab reaches each field in order, Enter submits.
                tab_to(page, "#username")
                page.keyboard.type(user)
                page.keyboard.press("Tab")
                assert focused(page, "#password"), "Tab from the name does not reach the password"
                page.keyboard.type(password[user])
                with page.expect_navigation():
                    page.keyboard.press("Enter")
                secret = page.inner_text("code.secret")  # first sign-in: enrol
                shot(page, "enrol.png")
                tab_to(page, "#code")
                page.keyboard.type(totp(secret))
                with page.expect_navigation():
                    page.keyboard.press("Enter")
                return context, page

            def focused(page, selector):
                return page.evaluate("s => document.activeElement === document.querySelector(s)", selector)

            def tab_to(page, selector, limit=12):
                """Presses Tab until `selector` has the focus (a skip link and the header first)."""
                seen = []
                for _ in range(limit):
                    page.keyboard.press("Tab")
                    if focused(page, selector):
                        return
                    seen.append(page.evaluate("document.activeElement.id || document.activeElement.tagName"))
                raise AssertionError(f"{selector} is not reached by Tab from the top: {seen}")

            practice, prison = f"http://127.0.0.1:{ports['practice']}", f"https://127.0.0.1:{ports['prison']}"
            ctx, page = sign_in(practice, "rita.reception")
            assert page.url.endswith("/outgoing"), page.url
            page.goto(practice + "/send")
            page.select_option("#to", "YOI123")
            page.fill("#subject", "Reception: Ada Testperson")
            page.fill("#nhs", NHS)
            page.select_option("#workflow", "reception-summary")
            page.set_input_files("#files", [f"{work}/{n}" for n in files])
            shot(page, "send.png")
            posts = []
            page.on("request", lambda r: posts.append(r.resource_type) if r.method == "POST" and r.url.endswith("/send") else None)
            page.click("form.narrow button[type=submit]")
            # Sent by the page's script with upload progress, which then shows the answer.
            page.wait_for_selector("text=Queued for YOI123", timeout=30_000)
            assert posts == ["xhr"], posts  # the script sent it (the form alone would be "document")
            shot(page, "sent.png")
            # The timeline refreshes itself (no script: a meta refresh) until the receipt verifies.
            page.click("text=Follow it until the receipt arrives")
            page.wait_for_selector("h1 >> text=acknowledged", timeout=60_000)
            assert "verified" in page.inner_text("main")
            shot(page, "timeline.png")
            page.goto(practice + "/outgoing")
            assert "acknowledged" in page.inner_text("table")
            shot(page, "outgoing.png")
            ctx.close()

            ctx, page = sign_in(prison, "anna.nurse")
            assert page.url.endswith("/inbox"), page.url
            page.fill("#nhs", NHS)
            page.click("form.search button[type=submit]")
            assert "Ada Testperson" in page.inner_text("table")
            assert NHS not in page.url  # never in a URL
            shot(page, "inbox.png")
            # 320 px wide (WCAG reflow): nothing but the results table scrolls sideways.
            page.set_viewport_size({"width": 320, "height": 640})
            assert page.evaluate("document.documentElement.scrollWidth") <= 320, "the page scrolls sideways at 320 px"
            page.set_viewport_size({"width": 1280, "height": 720})
            page.click("text=Reception: Ada Testperson")
            assert "summary.xml" in page.inner_text("main")
            shot(page, "pack.png")
            pack_url = page.url
            # The XML previewed as text in a sandboxed frame (nothing in it can run).
            page.locator("tr", has_text="summary.xml").locator("text=Preview").click()
            text = page.frame_locator("iframe.preview").locator("body").inner_text()
            assert "<ClinicalDocument>" in text, text
            shot(page, "preview.png")
            page.goto(pack_url)
            row = page.locator("tr", has_text="scan.pdf")
            with page.expect_download() as info:
                row.locator("a").click()
            download = info.value
            assert download.suggested_filename == "scan.pdf"
            assert open(download.path(), "rb").read() == files["scan.pdf"], "downloaded bytes differ"
            page.fill("#note", "Seen at reception")
            page.click("text=Mark as handled")
            assert "Marked handled by anna.nurse" in page.inner_text("main")
            response = page.goto(prison + "/send")
            assert response.status == 403, response.status
            # A cross-site form post without the token: refused.
            response = ctx.request.post(prison + "/pack/" + page.url.rsplit("/", 1)[-1] + "/handled",
                                        form={"note": "forged"}, headers={"Sec-Fetch-Site": "cross-site"})
            assert response.status == 403, response.status
            cookie = next(c for c in ctx.cookies() if c["name"].startswith("__Host-"))
            assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Strict", cookie
            ctx.close()

            # The practice manager: Health and Audit, over HTTPS.
            ctx, page = sign_in(prison, "mo.manager")
            response = page.goto(prison + "/health")
            assert response.status == 200 and "max-age" in response.headers["strict-transport-security"]
            shot(page, "health.png")
            page.goto(prison + "/audit")
            assert "web-download" in page.inner_text("main")
            shot(page, "audit.png")
            ctx.close()
            browser.close()

        failing = {name: [v for v in found if v[0] in FAILING_IMPACTS] for name, found in audited.items()}
        for name, found in sorted(audited.items()):
            for impact, rule, text, targets in found:
                print(f"axe: {name}: {impact}: {rule}: {text} {targets}")
        assert not any(failing.values()), "serious or critical accessibility violations (see above)"
        print(f"axe-core (WCAG 2.2 A/AA, best practice): {len(audited)} pages, no serious or critical violations")
        print("web browser test: keyboard-only sign-in with TOTP, send, acknowledged, inbox search over HTTPS, preview, download, "
              "handled, 403s, health, audit: ok")
    finally:
        for proc in procs: proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try: proc.wait(10)
            except subprocess.TimeoutExpired: proc.kill()
        if os.environ.get("KEEP") != "1": shutil.rmtree(work, ignore_errors=True)
        else: print("kept", work)

if __name__ == "__main__":
    main()
