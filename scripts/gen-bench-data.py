#!/usr/bin/env python3
"""Write a folder of distinct, XML-like patient records of about the same size, for benchmarks.

Each file holds whole synthetic records from gen-records.py (invented names, NHS numbers in the
999 000 0000 to 999 999 9999 test range with valid check digits) until it reaches --size-kb
kilobytes (1 KB = 1,000 bytes), then closes its root element. Files are named record-NNNNNN.xml.
The output is the same for the same seed, count and size, and is written into a temporary folder
renamed into place, so an interrupted run never leaves a partial set behind.

    scripts/gen-bench-data.py --count 2000 --size-kb 50 -o bench/work/data/records-50k
"""

import argparse
import importlib.util
import os
import random
import shutil
import sys

spec = importlib.util.spec_from_file_location("gen_records", os.path.join(os.path.dirname(__file__), "gen-records.py"))
gen_records = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gen_records)

HEADER = b'<?xml version="1.0" encoding="UTF-8"?>\n<Records synthetic="true">\n'
FOOTER = b"</Records>\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, required=True, help="how many files")
    parser.add_argument("--size-kb", type=float, required=True, help="approximate size of each file in KB")
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("-o", "--output", required=True, help="folder to create (must not exist)")
    args = parser.parse_args()
    if args.count < 1 or args.size_kb <= 0:
        parser.error("--count and --size-kb must be positive")
    if os.path.exists(args.output):
        parser.error(f"{args.output} exists")

    rng = random.Random(args.seed)
    target = int(args.size_kb * 1000)
    staging = args.output + ".part"
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(staging)
    serial = 0
    for index in range(args.count):
        parts, size = [HEADER], len(HEADER) + len(FOOTER)
        while size < target:
            text = gen_records.record(rng, serial).encode()
            serial += 1
            parts.append(text)
            size += len(text)
        parts.append(FOOTER)
        with open(os.path.join(staging, f"record-{index:06d}.xml"), "wb") as out:
            out.write(b"".join(parts))
    os.rename(staging, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
