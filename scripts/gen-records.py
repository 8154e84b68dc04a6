#!/usr/bin/env python3
"""Writes semi-compressible, XML-like clinical records with NHS test numbers (999 000 0000 to
999 999 9999) and invented names, for benchmarks. Deterministic for a given seed."""
import random
import sys


def nhs_number(rng):
    while True:
        base = [9, 9, 9] + [rng.randrange(10) for _ in range(6)]
        check = 11 - sum(d * w for d, w in zip(base, range(10, 1, -1))) % 11
        if check == 11:
            check = 0
        if check != 10:
            return "".join(map(str, base)) + str(check)


def main():
    path, size = sys.argv[1], int(sys.argv[2])
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    meds = ["Metformin 500mg", "Amlodipine 5mg", "Salbutamol 100mcg inhaler", "Sertraline 50mg",
            "Omeprazole 20mg", "Atorvastatin 20mg", "Methadone 1mg/ml oral solution", "Levothyroxine 50mcg"]
    names = ["Ada", "Ben", "Cara", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jude"]
    written = 0
    with open(path, "wb") as out:
        record = 0
        while written < size:
            lines = []
            for _ in range(2000):
                record += 1
                lines.append(
                    f'<patient nhs="{nhs_number(rng)}" id="{record}"><name>{rng.choice(names)} Test{rng.randrange(100000)}</name>'
                    f'<med dose="{rng.randrange(1, 5)}">{rng.choice(meds)}</med><bp>{rng.randrange(90, 180)}/{rng.randrange(50, 110)}</bp>'
                    f'<note>{rng.getrandbits(64):016x}</note></patient>\n')
            block = "".join(lines).encode()[: size - written]
            out.write(block)
            written += len(block)


if __name__ == "__main__":
    main()
