#!/usr/bin/env python3
"""Write synthetic, XML-like patient records for benchmarks: compressible, but not trivially.

Every name, date and NHS number is invented; the NHS numbers are in the 999 000 0000 to
999 999 9999 test range and carry valid modulus-11 check digits. The output is the same for the
same seed and size.

Speed comes from generating a pool of distinct records once (a few MiB) and writing it in large
blocks, each block starting the pool at a different record. DEFLATE, which Gatehouse and gzip
use, looks back only 32 KiB, so the repetition of a pool this much larger than that does not
change the compression ratio (about 3 to 5 at gzip -1), while writing runs at disk speed.

    scripts/gen-records.py --size-mb 1024 -o bench/work/records.xml
"""

import argparse
import random
import sys

POOL_BYTES = 24 << 20
BLOCK_BYTES = 8 << 20

FAMILY = ("Abbott Adeyemi Ahmed Ali Allen Bailey Baker Banerjee Barker Bell Bennett Brooks Brown "
          "Campbell Carter Chen Clarke Collins Cooper Cox Davies Dixon Edwards Evans Fisher Fletcher "
          "Foster Gill Graham Gray Green Hall Harris Hill Hughes Hussain Jackson James Jenkins "
          "Johnson Jones Kaur Kelly Khan King Lee Lewis Marsh Martin Mason Miller Mills Mitchell "
          "Moore Morgan Morris Murphy Nowak Okafor Owen Palmer Parker Patel Phillips Price Reid "
          "Richards Roberts Robinson Rose Russell Scott Shaw Simpson Singh Smith Stewart Taylor "
          "Thomas Thompson Turner Walker Ward Watson White Williams Wilson Wood Wright Young").split()
GIVEN = ("Aaliyah Adam Aisha Alex Amir Amy Ben Callum Chloe Connor Daniel David Dylan Ella Emily "
         "Ethan Faith George Grace Hannah Harry Isaac Jack Jacob Jamal Jordan Joseph Kai Kian Leah "
         "Leon Liam Lily Lucas Luke Mason Mia Mohammed Nathan Noah Olivia Oscar Priya Reece Riley "
         "Ryan Sam Sophie Tariq Tom Tyler Zain Zara").split()
PROBLEMS = [
    ("44054006", "Type 2 diabetes mellitus"), ("46635009", "Type 1 diabetes mellitus"),
    ("195967001", "Asthma"), ("13645005", "Chronic obstructive lung disease"),
    ("38341003", "Hypertensive disorder"), ("35489007", "Depressive disorder"),
    ("197480006", "Anxiety disorder"), ("84757009", "Epilepsy"), ("66071002", "Hepatitis B"),
    ("50711007", "Hepatitis C"), ("86406008", "HIV infection"), ("191816009", "Opioid dependence"),
    ("58214004", "Schizophrenia"), ("13746004", "Bipolar disorder"), ("49436004", "Atrial fibrillation"),
]
MEDICINES = [
    ("Metformin 500 mg tablets", "1 tablet twice daily"), ("Insulin glargine 100 units/ml", "units once daily"),
    ("Salbutamol 100 micrograms/dose inhaler", "2 puffs when required"),
    ("Beclometasone 100 micrograms/dose inhaler", "2 puffs twice daily"),
    ("Amlodipine 5 mg tablets", "1 tablet once daily"), ("Ramipril 2.5 mg capsules", "1 capsule once daily"),
    ("Sertraline 50 mg tablets", "1 tablet once daily"), ("Mirtazapine 15 mg tablets", "1 tablet at night"),
    ("Levetiracetam 500 mg tablets", "1 tablet twice daily"), ("Methadone 1 mg/ml oral solution", "ml once daily"),
    ("Buprenorphine 8 mg sublingual tablets", "1 tablet once daily"), ("Olanzapine 10 mg tablets", "1 tablet at night"),
    ("Apixaban 5 mg tablets", "1 tablet twice daily"), ("Omeprazole 20 mg capsules", "1 capsule once daily"),
]
WORDS = ("patient seen today reports feeling better worse unchanged since last review sleep appetite "
         "mood stable low anxious pain chest breathing cough wheeze night symptoms reviewed medication "
         "adherence good poor missed doses advised continue increase reduce stop start referred clinic "
         "bloods taken results normal raised awaiting follow up two four six weeks weight blood pressure "
         "sugars hypos none reported injection sites healthy inhaler technique checked spacer given "
         "smoking cessation discussed alcohol units per week substance use declined support offered "
         "safeguarding concerns none identified plan agreed with patient who understands and consents "
         "to sharing this summary with healthcare in custody letter sent").split()
CLINICIANS = ["Dr A. Example", "Dr B. Sample", "Dr C. Specimen", "Nurse D. Placeholder",
              "Nurse E. Model", "Pharmacist F. Instance", "Dr G. Pattern", "Dr H. Dummy"]
PRACTICES = ["A81001", "A81002", "B82005", "C83019", "D81022", "E84011", "F85002", "G82033", "H81047"]


def nhs_number(rng: random.Random) -> str:
    """A random NHS number in the test range with a valid modulus-11 check digit."""
    while True:
        nine = "999" + f"{rng.randrange(1_000_000):06d}"
        check = 11 - sum(int(d) * (10 - i) for i, d in enumerate(nine)) % 11
        if check == 11:
            check = 0
        if check != 10:
            return nine + str(check)


def date(rng: random.Random, first: int, last: int) -> str:
    return f"{rng.randint(first, last)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def record(rng: random.Random, serial: int) -> str:
    nhs = nhs_number(rng)
    parts = [
        f'<Record id="{rng.getrandbits(64):016x}" serial="{serial}">\n',
        f"  <NhsNumber>{nhs}</NhsNumber>\n",
        f'  <Name family="{rng.choice(FAMILY)}" given="{rng.choice(GIVEN)}"/>\n',
        f"  <BirthDate>{date(rng, 1950, 2007)}</BirthDate>\n",
        f'  <RegisteredPractice ods="{rng.choice(PRACTICES)}"/>\n',
    ]
    for code, term in rng.sample(PROBLEMS, rng.randint(1, 3)):
        parts.append(f'  <Problem code="{code}" since="{date(rng, 1995, 2026)}">{term}</Problem>\n')
    for name, dose in rng.sample(MEDICINES, rng.randint(1, 4)):
        parts.append(f'  <Medication issued="{date(rng, 2024, 2026)}" quantity="{rng.randint(7, 112)}">'
                     f"{name}; {dose}</Medication>\n")
    for _ in range(rng.randint(1, 3)):
        parts.append(f'  <Observation date="{date(rng, 2023, 2026)}" systolic="{rng.randint(95, 175)}" '
                     f'diastolic="{rng.randint(55, 105)}" weight="{rng.uniform(45, 130):.1f}" '
                     f'hba1c="{rng.randint(35, 95)}"/>\n')
    for _ in range(rng.randint(1, 2)):
        text = " ".join(rng.choices(WORDS, k=rng.randint(12, 40)))
        parts.append(f'  <Consultation date="{date(rng, 2023, 2026)}" clinician="{rng.choice(CLINICIANS)}">'
                     f"{text.capitalize()}.</Consultation>\n")
    parts.append("</Record>\n")
    return "".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, required=True, help="output size in MiB")
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("-o", "--output", required=True)
    args = parser.parse_args()
    if args.size_mb < 1:
        parser.error("--size-mb must be at least 1")

    rng = random.Random(args.seed)
    total = args.size_mb << 20
    pool_target = min(POOL_BYTES, total)
    records, size, serial = [], 0, 0
    while size < pool_target:
        text = record(rng, serial).encode()
        records.append(text)
        size += len(text)
        serial += 1
    pool = b"".join(records)
    starts, offset = [], 0
    for text in records:
        starts.append(offset)
        offset += len(text)

    with open(args.output, "wb") as out:
        out.write(b'<?xml version="1.0" encoding="UTF-8"?>\n<Records synthetic="true">\n')
        written = out.tell()
        while written < total:
            start = rng.choice(starts)
            block = memoryview(pool[start:] + pool[:start])
            while written < total and block:
                piece = block[: min(BLOCK_BYTES, total - written)]
                out.write(piece)
                written += len(piece)
                block = block[len(piece):]
    return 0


if __name__ == "__main__":
    sys.exit(main())
