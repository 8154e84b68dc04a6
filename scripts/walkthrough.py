#!/usr/bin/env python3
"""Runs every ```sh block of README.md and docs/OPERATIONS.md, in order, in a sandbox.

The convention (README, "Contributing"):

- Each ```sh block runs in one bash per document (`set -Eeo pipefail`; the current folder,
  variables and background jobs carry from block to block). Other blocks are never run: a
  command shown in an indented or other fenced block fails this test unless
  `<!-- not run: REASON -->` comes before it (reference syntax with placeholders); those are
  listed in the summary.
- A ```text block right after a ```sh block (blank lines and comments between) is what the sh
  block prints: its lines must be an interleaving of the standard output and standard error
  lines (each in its own order). `…` in a line matches any text; a line of only `…` matches
  any number of lines.
- HTML comments right before a block (blank lines between at most) steer it:
  `<!-- exit: N -->`       the block's last command exits with status N (else 0 for every command);
  `<!-- input: TEXT -->`   the block reads TEXT and a newline on its standard input (else nothing);
  `<!-- terminal: TEXT -->` standard input is a terminal on which TEXT was typed (one comment a line);
  `<!-- machine: NAME -->` this and later blocks run on machine NAME: absolute paths under
                           /var/lib/, /srv/, /media/ and /etc/gatehouse are that machine's own
                           folders in the sandbox (/media/usb is a USB stick); the current folder
                           is shared (the post between the machines' people);
  `<!-- example: VALUE -->` VALUE (an id) stands for a value that differs at each run: in a
                           ```text block it matches and captures one word, and in later blocks it
                           (or a prefix of it, 4 or more characters) is replaced by what it captured;
  `<!-- wait: CMD -->`     before the next block, retry CMD quietly until it succeeds (30 s at most):
                           the moment a person takes between two steps;
  `<!-- instead: REASON ... -->` the next ```sh block cannot run in a test (systemd, the host's
                           users and groups): the ```sh block inside the comment, if any, runs in its
                           place; every REASON is listed in the summary.
- The sandbox: a temporary folder, the built `gatehouse` first on PATH; `127.0.0.1:2222`,
  `0.0.0.0:2222` and `relay.example.org:2222` mean a free loopback port; the groups `healthcare`
  and `gatehouse-ops` mean a group the test's user has (none is created); `sudo -u gatehouse CMD`
  runs CMD as the test's user (playing the service user), and `sudo -u OTHER CMD` as `nobody`
  with only that group (root only: without root such a block is SKIPPED and listed). Hidden
  blocks may use $MACHINES (the machines' folders), $RELAY_PORT and $REPO. Everything started
  is stopped at the end.

A command that fails, or prints something other than the doc shows, fails with FILE:LINE.
Usage: walkthrough.py [--keep] [DOC…]   (default: README.md docs/OPERATIONS.md)
"""
import grp, os, re, selectors, shutil, signal, socket, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from walkthrough_doc import Failure, compare, parse  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BLOCK_TIMEOUT = 90
REBASED = re.compile(r"(?<![\w./$-])(/var/lib/|/srv/|/media/|/etc/gatehouse)")
DOC_ADDRESSES = ["relay.example.org:2222", "0.0.0.0:2222", "127.0.0.1:2222"]


def test_group():
    """A group this user has (a supplementary one first), standing for `healthcare`."""
    others = [g for g in os.getgroups() if g != os.getegid()]
    gid = others[0] if others else os.getegid()
    return gid, grp.getgrgid(gid).gr_name


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PRELUDE = r"""
set -Eeo pipefail
# The failing line in the block's file, even when it failed inside a function (sudo).
__err() {
    local i
    for ((i = 0; i < ${#BASH_SOURCE[@]} - 1; i++)); do
        if [[ ${BASH_SOURCE[i+1]} == "$__file" ]]; then echo "${BASH_LINENO[i]} $1" > "$__fail"; return; fi
    done
    echo "0 $1" > "$__fail"
}
trap '__err "$?"' ERR
# sudo -u gatehouse: the test's user plays the service user; anyone else is a member of staff.
sudo() {
    local user=
    while [ $# -gt 0 ]; do
        case $1 in -u) user=$2; shift 2 ;; -u*) user=${1#-u}; shift ;; --) shift; break ;; -*) shift ;; *) break ;; esac
    done
    case $user in ''|gatehouse|gatehouse-relay|root) "$@" ;;
        *) setpriv --reuid=nobody --regid="$__gid" --clear-groups -- "$@" ;; esac
}
__wait() {
    local i
    for i in $(seq 300); do eval "$1" > /dev/null 2>&1 && return 0; sleep 0.1; done
    eval "$1"
}
exec 3<&0 4>&1 0</dev/null 1>/dev/null
while IFS= read -r __file <&3; do
    source "$__file"
    echo done >&4
done
"""


class Sandbox:
    def __init__(self, doc, blocks, keep):
        self.doc, self.keep = doc, keep
        # Output shows the relay as the doc's sh blocks name it.
        code = "\n".join(line for block in blocks for line in block.code)
        self.public = next((a for a in DOC_ADDRESSES if a in code and not a.startswith("0.")), DOC_ADDRESSES[-1])
        self.folder = tempfile.mkdtemp(prefix="gatehouse-walkthrough.")
        os.chmod(self.folder, 0o755)
        self.desk = os.path.join(self.folder, "desk")
        os.mkdir(self.desk)
        self.port = free_port()
        self.gid, self.group = test_group()
        self.captured = {}
        binary = os.environ.get("GATEHOUSE_BIN") or os.path.join(ROOT, ".build", "debug", "gatehouse")
        if not os.access(binary, os.X_OK):
            raise Failure(f"{binary} is missing: run `swift build` first")
        bin_folder = os.path.join(self.folder, "bin")
        os.mkdir(bin_folder)
        os.symlink(binary, os.path.join(bin_folder, "gatehouse"))
        with open(os.path.join(self.folder, "prelude.sh"), "w") as f:
            f.write(PRELUDE)
        env = {"PATH": bin_folder + ":" + os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.desk,
               "LANG": "C.UTF-8", "TERM": "dumb", "__fail": os.path.join(self.folder, "failed"),
               "__gid": str(self.gid),
               "MACHINES": os.path.join(self.folder, "machines"), "REPO": ROOT,
               "RELAY_PORT": str(self.port)}
        self.shell = subprocess.Popen(["bash", "--norc", "--noprofile", os.path.join(self.folder, "prelude.sh")],
                                      cwd=self.desk, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      process_group=0)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.shell.stdout, selectors.EVENT_READ)
        self.count = 0
        self.terminals = []

    def machine_root(self, machine):
        return os.path.join(self.folder, "machines", machine)

    def rewrite(self, code, machine):
        """The block as the sandbox runs it: its machine's paths, the port, the group, examples."""
        root = self.machine_root(machine)
        # The folders every Debian machine has, and a USB stick mounted at /media/usb.
        for folder in ("var/lib", "srv", "media/usb", "etc"):
            os.makedirs(os.path.join(root, folder), exist_ok=True)
        out = []
        for line in code:
            line = REBASED.sub(lambda m: root + m.group(1), line)
            for address in DOC_ADDRESSES:
                line = line.replace(address, f"127.0.0.1:{self.port}")
            line = re.sub(r"\b(healthcare|gatehouse-ops)\b", self.group, line)
            out.append(self.substitute(line))
        return out

    def substitute(self, line):
        def word(m):
            token = m.group(0)
            for example, value in self.captured.items():
                if len(token) >= 4 and example.startswith(token):
                    return value[:len(token)]
            return token
        return re.sub(r"[0-9A-Za-z]+", word, line)

    def readable(self, text, machine):
        """Actual output as the doc would show it: the sandbox's paths and port taken out."""
        text = text.replace(self.machine_root(machine), "")
        return text.replace(f"127.0.0.1:{self.port}", self.public)

    def run(self, block, code, first_line):
        self.count += 1
        name = os.path.join(self.folder, f"block-{self.count}")
        stdin = "/dev/null"
        if block.input is not None:
            stdin = name + ".in"
            with open(stdin, "w") as f:
                f.write(block.input + "\n")
        elif block.terminal:
            # A pseudo-terminal as standard input, the lines already typed into it.
            terminal = os.openpty()
            os.write(terminal[0], "".join(line + "\n" for line in block.terminal).encode())
            stdin = os.ttyname(terminal[1])
            # Kept open to the end: a terminal whose other end closes hangs up its readers.
            self.terminals += terminal
        return self.run_file(block, code, first_line, name, stdin)

    def run_file(self, block, code, first_line, name, stdin):
        header = []
        for wait in block.waits:
            header.append(f"__wait {shell_quote(self.rewrite([wait], block.machine)[0])}")
        header += ["set +e; trap - ERR" if block.exit else ":", "{"]
        footer = [f'}} > {name}.out 2> {name}.err < {stdin} 3<&- 4>&-']
        if block.exit:
            footer += ["echo $? > " + name + ".status", "set -e; trap '__err \"$?\"' ERR"]
        with open(name + ".sh", "w") as f:
            f.write("\n".join(header + (code or [":"]) + footer) + "\n")
        self.shell.stdin.write((name + ".sh\n").encode())
        self.shell.stdin.flush()
        deadline = time.monotonic() + BLOCK_TIMEOUT
        answer = b""
        while not answer.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self.selector.select(remaining):
                raise Failure(f"{block.doc}:{block.line}: still running after {BLOCK_TIMEOUT} s\n" + self.output(name))
            chunk = os.read(self.shell.stdout.fileno(), 4096)
            if not chunk:
                break
            answer += chunk
        if answer != b"done\n":
            where, status = first_line, "?"
            if os.path.exists(os.path.join(self.folder, "failed")):
                lineno, status = read(os.path.join(self.folder, "failed")).split()
                offset = int(lineno) - len(header) - 1
                if 0 <= offset < len(code):
                    where = first_line + offset
            raise Failure(f"{block.doc}:{where}: the command failed (status {status})\n" + self.output(name))
        if block.exit:
            status = int(read(name + ".status"))
            if status != block.exit:
                raise Failure(f"{block.doc}:{first_line}: exit status {status}, the doc says {block.exit}\n"
                              + self.output(name))
        return [self.readable(read(name + suffix), block.machine) for suffix in (".out", ".err")]

    def output(self, name):
        return "standard output:\n" + read(name + ".out") + "standard error:\n" + read(name + ".err")

    def close(self):
        try:
            self.shell.stdin.close()
        except OSError:
            pass
        try:
            self.shell.wait(timeout=2)
        except subprocess.TimeoutExpired:
            pass
        # Everything the walk-through started is in the shell's process group.
        for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            if not group_alive(self.shell.pid):
                break
            os.killpg(self.shell.pid, sig)
            end = time.monotonic() + grace
            while time.monotonic() < end and group_alive(self.shell.pid):
                self.shell.poll()
                time.sleep(0.05)
        self.shell.wait()
        self.shell.stdout.close()
        self.selector.close()
        for fd in self.terminals:
            os.close(fd)
        if self.keep:
            print(f"  sandbox kept: {self.folder}")
        else:
            shutil.rmtree(self.folder, ignore_errors=True)


def read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def group_alive(pgid):
    """True while a process of group `pgid` runs (zombies do not count)."""
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def shell_quote(text):
    return "'" + text.replace("'", "'\\''") + "'"


def walk(doc, keep):
    blocks, examples, not_run = parse(doc)
    exceptions, skipped = [], []
    sandbox = Sandbox(doc, blocks, keep)
    started = time.monotonic()
    try:
        for block in blocks:
            code, first = block.code, block.line
            if block.instead:
                reason, first, code = block.instead
                exceptions.append(f"{block.doc}:{block.line}: {reason}")
            staff = any(re.search(r"\bsudo -u (?!gatehouse\b|gatehouse-relay\b|root\b)", line) for line in code)
            if staff and os.geteuid() != 0:
                skipped.append(f"{block.doc}:{block.line}: SKIPPED: running a command as a member of staff needs root")
                continue
            for line in code:
                for example in examples:
                    if example in line and example not in sandbox.captured:
                        raise Failure(f"{block.doc}:{block.line}: example {example} is used before an output shows it")
            actual = sandbox.run(block, sandbox.rewrite(code, block.machine), first)
            if block.expected and not block.instead:
                compare(block, actual, examples, sandbox.captured)
    finally:
        sandbox.close()
    print(f"walkthrough: {doc}: {len(blocks)} blocks ran in {time.monotonic() - started:.1f} s")
    for line in exceptions + not_run + skipped:
        print("  " + line)


def main():
    args = sys.argv[1:]
    keep = "--keep" in args
    docs = [a for a in args if a != "--keep"] or ["README.md", "docs/OPERATIONS.md"]
    os.chdir(ROOT)
    try:
        for doc in docs:
            walk(doc, keep)
    except Failure as failure:
        print(f"walkthrough: FAILED: {failure}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
