"""A section of bench/RESULTS.md written by a benchmark script of its own (`make bench-web`),
between `<!-- bench-NAME -->` and `<!-- /bench-NAME -->`: replaced in place when present, else
added at the end. `make bench` (bench_rows.py assemble) keeps such sections when it rewrites
the file.

    python3 bench_section.py RESULTS.md NAME RESULT.json MACHINE.md KNOBS
"""
import json, re, sys, time

TITLES = {"web": "Web pages (`make bench-web`, scripts/bench-web.sh)"}


def sections(text):
    """The marked sections of `text`, each with its markers, in order."""
    return [m.group(0) for m in re.finditer(r"<!-- bench-([a-z-]+) -->\n.*?<!-- /bench-\1 -->", text, re.S)]


def write(path, name, result, machine, knobs):
    with open(result) as f:
        fragment = json.load(f)
    with open(machine) as f:
        facts = f.read().rstrip("\n")
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    body = "\n".join([
        f"<!-- bench-{name} -->", f"## {TITLES.get(name, name)}", "", facts, "",
        "| row | what | Gatehouse | baseline | ratio | target | verdict |",
        "| --- | --- | --- | --- | --- | --- | --- |", *fragment["lines"], "",
        f"- Measured {when} ({knobs}).", *[f"  {note}" for note in fragment["notes"]],
        f"<!-- /bench-{name} -->"])
    with open(path) as f:
        text = f.read()
    marked = re.compile(rf"<!-- bench-{name} -->\n.*?<!-- /bench-{name} -->", re.S)
    text = marked.sub(lambda _: body, text) if marked.search(text) else text.rstrip("\n") + "\n\n" + body + "\n"
    with open(path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    write(*sys.argv[1:6])
