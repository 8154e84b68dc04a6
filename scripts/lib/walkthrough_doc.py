"""The blocks of a walk-through document and the comparison of shown and printed output.

Used by scripts/walkthrough.py, whose header describes the convention.
"""
import re


# The first word of a line that is a command a reader could type.
COMMAND = re.compile(r"^\s*(\$\s+)?(gatehouse|sudo|systemctl|journalctl|make|useradd|groupadd|usermod|install|chmod|"
                     r"chgrp|chown|sqlite3|kill|cp|mv|mkdir|ls|cat|curl|printf|echo|python3|bash|sh)\s")


class Failure(Exception):
    """A doc that does not hold: its message starts with FILE:LINE."""


class Block:
    """A ```sh block: where it is, its lines, its machine, what its comments ask, its output."""

    def __init__(self, doc, line, code, machine, notes):
        self.doc, self.line, self.code, self.machine = doc, line, code, machine
        self.exit = int(notes.get("exit", 0))
        self.input = notes.get("input")
        self.instead = notes.get("instead")  # (reason, line, code or [])
        self.waits = notes.get("wait", [])
        self.terminal = notes.get("terminal")  # lines typed on a terminal
        self.expected = None                   # (line, [lines]) of its ```text block


def parse(path):
    """The ```sh blocks of one document, with their comments and shown output, and the
    commands shown in other blocks, each with the reason it is not run."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    blocks, notes, machine, examples, last, i = [], {}, "gateway", [], None, 0
    not_run, unrun_reason, notes_line = [], None, 0

    def shown(start, code):
        """A block that is not run: a command in it needs a reason."""
        nonlocal unrun_reason
        if notes:
            raise Failure(f"{path}:{notes_line}: {sorted(notes)} must come right before a ```sh block")
        first = next((line for line in code if line.strip()), "")
        if COMMAND.match(first):
            if unrun_reason is None:
                raise Failure(f"{path}:{start + 1}: a command in a block that is not ```sh is never run: put it in a "
                              "```sh block, or say why not before it with <!-- not run: REASON -->")
            not_run.append(f"{path}:{start + 1}: not run: {unrun_reason}")
        unrun_reason = None

    while i < len(lines):
        line = lines[i]
        if re.match(r"^\s+```sh\s*$", line):
            raise Failure(f"{path}:{i + 1}: an indented ```sh block is never run: start its fence at the line's start")
        if line.startswith("    ") and i > 0 and not lines[i - 1].strip():
            start = i
            while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
                i += 1
            shown(start, lines[start:i])
            last = None
            continue
        if line.startswith("<!--"):
            start, text = i, line
            while "-->" not in lines[i]:
                i += 1
                text += "\n" + lines[i]
            body = text[4:text.index("-->")].strip()
            key, _, value = body.partition(":")
            key = key.strip()
            if key in ("wait", "terminal", "exit", "input", "instead"):
                notes_line = notes_line if notes else start + 1
            if key == "machine":
                machine = value.strip()
            elif key == "example":
                examples.append(value.strip())
            elif key in ("wait", "terminal"):
                notes.setdefault(key, []).append(value.strip())
            elif key in ("exit", "input"):
                notes[key] = value.strip()
            elif key == "not run":
                unrun_reason = value.strip()
            elif key == "instead":
                why, _, rest = value.partition("\n")
                code, line_no = [], start + 1
                match = re.search(r"^```sh\n(.*?)^```", rest, re.S | re.M)
                if match:
                    code = match.group(1).rstrip("\n").split("\n")
                    line_no = start + 2 + rest[:match.start()].count("\n") + 1
                notes["instead"] = (why.strip(), line_no, code)
            if key != "example":
                last = None
            i += 1
            continue
        fence = re.match(r"^```(\S*)\s*$", line)
        if fence:
            start, i = i, i + 1
            code = []
            while i < len(lines) and not re.match(r"^```\s*$", lines[i]):
                code.append(lines[i])
                i += 1
            if i == len(lines):
                raise Failure(f"{path}:{start + 1}: a ``` block that never ends")
            if fence.group(1) == "sh":
                last = Block(path, start + 2, code, machine, notes)
                blocks.append(last)
                notes, unrun_reason = {}, None
            elif fence.group(1) == "text" and last is not None and last.expected is None:
                last.expected = (start + 2, code)
                last = None
            else:
                shown(start, code)
                last = None
        elif line.strip():
            if notes:
                raise Failure(f"{path}:{notes_line}: {sorted(notes)} must come right before a ```sh block")
            last = None
        i += 1
    if notes:
        raise Failure(f"{path}:{notes_line}: {sorted(notes)} must come right before a ```sh block")
    return blocks, examples, not_run


def compare(block, streams, examples, captured):
    """Checks the block's output against its ```text block, line by line; fills `captured`.

    Standard output and standard error are read separately (a program's output to a file is
    buffered, so their order there is not what a terminal shows): the doc's lines must be some
    interleaving of the two, each in its own order.
    """
    first, expected = block.expected
    expected = [line.rstrip() for line in expected]
    while expected and not expected[-1]:
        expected.pop()
    out, err = ([line.rstrip() for line in text.rstrip("\n").split("\n")] if text.strip() else [] for text in streams)
    split = "(…|" + "|".join(re.escape(e) for e in examples) + ")" if examples else "(…)"

    def pattern(line, found):
        parts, groups = [], []
        for token in re.split(split, line):
            if token == "…":
                parts.append(".*")
            elif token in examples:
                if token in found:
                    parts.append(re.escape(found[token]))
                elif token in groups:
                    parts.append(f"(?P=g{examples.index(token)})")
                else:
                    parts.append(f"(?P<g{examples.index(token)}>[^\\s/,;:()'\"`.]+)")
                    groups.append(token)
            else:
                parts.append(re.escape(token))
        return re.compile("".join(parts) + r"\Z"), groups

    def line_matches(i, line, found):
        regex, groups = pattern(expected[i], found)
        m = regex.match(line)
        if not m:
            return None
        new = dict(found)
        for token in groups:
            new[token] = m.group(f"g{examples.index(token)}")
        return new

    failed = set()

    def match(i, j, k, found):
        key = (i, j, k, tuple(sorted(found.items())))
        if key in failed:
            return None
        result = None
        if i == len(expected):
            result = found if (j, k) == (len(out), len(err)) else None
        elif expected[i] == "…":
            result = match(i + 1, j, k, found)
            if result is None and j < len(out):
                result = match(i, j + 1, k, found)
            if result is None and k < len(err):
                result = match(i, j, k + 1, found)
        else:
            for stream, advance in ((out, (j + 1, k)), (err, (j, k + 1))):
                position = j if stream is out else k
                if result is None and position < len(stream):
                    new = line_matches(i, stream[position], found)
                    if new is not None:
                        result = match(i + 1, *advance, new)
        if result is None:
            failed.add(key)
        return result

    result = match(0, 0, 0, dict(captured))
    if result is None:
        # Point at the first of the doc's lines that matches no line printed.
        where = first
        for i, line in enumerate(expected):
            if line != "…" and all(line_matches(i, printed, captured) is None for printed in out + err):
                where = first + i
                break
        raise Failure(f"{block.doc}:{where}: the output differs from the doc's\n--- the doc shows:\n"
                      + "\n".join(expected) + "\n--- standard output:\n" + "\n".join(out)
                      + "\n--- standard error:\n" + "\n".join(err))
    captured.update(result)
