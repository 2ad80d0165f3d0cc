"""Searching patients by name or phone among many: the reception's search box, timed.

``--patients`` patients (100,000 by default) with names drawn from common Uzbek and Russian
surnames, first names and fathers' names, written in Cyrillic or in Latin with each of the
apostrophes people type (ʻ ' ‘ \\`), are written through the same ``search_key`` the service
uses. Then each query of a reception's day (a surname, a part of one, a name in the other
script, a rare name, a part of a phone) is run through ``list_patients`` (the page of 50 and
the count of all matches, as the API does) ``--repeat`` times: median and worst.

On PostgreSQL it measures twice on the same data: with the trigram indexes of migration
0019 and after dropping them (``--compare``, the default), so the two figures stand side by
side. On SQLite there are no such indexes; its figures are the fallback's.

    python bench/patient_search.py --postgres --patients 100000
    python bench/patient_search.py --patients 100000        # SQLite
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from sqlalchemy import insert, text  # noqa: E402

from bench.reports import DatabaseOnly  # noqa: E402
from bench.support.harness import add_common_arguments, write_result  # noqa: E402
from clinic.reference.models import Patient  # noqa: E402
from clinic.reference.patients import list_patients  # noqa: E402
from clinic.text import search_key  # noqa: E402

NAME = "patient_search"
SURNAMES = (
    "Каримов Рахимов Юсупов Абдуллаев Султанов Хасанов Ҳасанов Назаров Турсунов Исмоилов "
    "Ўралов Ғуломов Қодиров Эргашев Мирзаев Саидов Алимов Бобоев Жўраев Тошматов Семёнов "
    "Иванов Ким Пак Умаров Норматов Холматов Раҳмонов Шарипов Азимов"
).split()
FIRST = (
    "Шерзод Анвар Дилшод Жамшид Бахтиёр Фаррух Ўткир Ғайрат Улуғбек Отабек Рустам Сардор "
    "Тимур Акмал Азиз Бобур Зафар Нодир Санжар Элёр"
).split()
FATHERS = "Анвар Рустам Алишер Бахтиёр Ғулом Қаҳҳор Эркин Шавкат Иброҳим Абдулла".split()
LATIN = str.maketrans({"'": None})
APOSTROPHES = ("ʻ", "'", "‘", "`")
QUERIES = (
    ("surname, Cyrillic", "Каримов"),
    ("surname, Latin", "karimov"),
    ("part of a surname", "rahim"),
    ("surname and first name", "Юсупов Шерзод"),
    ("Uzbek letter typed with ‘", "O‘ralov"),
    ("Russian spelling of Ғ", "Гуломов Улугбек"),
    ("full name with father's", "Каримов Шерзод Анварович"),
    ("a rare name", "Zafar Kimov"),
    ("no such name", "Wolfeschlegel"),
    ("two letters", "ka"),
    ("part of a phone", "45 67"),
    ("whole phone", "+998 90 123-45-67"),
)


def _latin(name: str, rng: random.Random) -> str:
    """``name`` as a Latin document writes it, with one of the apostrophes people type."""
    key = search_key(name)
    return " ".join(w.capitalize() for w in key.split()).replace("'", rng.choice(APOSTROPHES))


def people(count: int, seed: int = 7):
    rng = random.Random(seed)
    for i in range(count):
        father = rng.choice(FATHERS)
        surname = rng.choice(SURNAMES)
        female = rng.random() < 0.5
        if female:
            surname = surname + "а" if surname.endswith(("ов", "ев", "ёв")) else surname
        name = f"{surname} {rng.choice(FIRST)}"
        if rng.random() < 0.6:
            name += f" {father}{'овна' if female else 'ович'}"
        if rng.random() < 0.4:
            name = _latin(name, rng)
        yield {
            "full_name": name,
            "search_name": search_key(name)[:200],
            "sex": "F" if female else "M",
            "phone": f"+99890{rng.randrange(10**7):07d}" if rng.random() < 0.9 else None,
            "document_number": f"AA{1000000 + i}",
            "notes": "",
            "active": True,
        }


def generate(stack, count: int) -> float:
    started = time.perf_counter()
    batch: list[dict] = []
    with stack.runtime.db.engine.begin() as conn:
        for person in people(count):
            batch.append(person)
            if len(batch) == 5000:
                conn.execute(insert(Patient.__table__), batch)
                batch = []
        if batch:
            conn.execute(insert(Patient.__table__), batch)
    with stack.runtime.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(
            text("VACUUM ANALYZE patients" if stack.database_kind == "postgresql" else "ANALYZE")
        )
    return round(time.perf_counter() - started, 1)


def measure(stack, repeat: int) -> list[dict]:
    figures = []
    for label, q in QUERIES:
        times, total = [], 0
        for _ in range(repeat):
            with stack.runtime.db.session() as session:
                started = time.perf_counter()
                _, total = list_patients(session, q=q, page_size=50)
                times.append(time.perf_counter() - started)
        figures.append(
            {
                "query": label,
                "q": q,
                "found": total,
                "median_ms": round(statistics.median(times) * 1000, 1),
                "max_ms": round(max(times) * 1000, 1),
            }
        )
    return figures


def trigram_indexes(stack) -> list[str]:
    if stack.database_kind != "postgresql":
        return []
    with stack.runtime.db.engine.connect() as conn:
        return list(
            conn.scalars(
                text(
                    "SELECT indexname FROM pg_indexes WHERE tablename = 'patients' "
                    "AND indexdef LIKE '%gin_trgm_ops%' ORDER BY indexname"
                )
            )
        )


def drop(stack, names: list[str]) -> None:
    with stack.runtime.db.engine.begin() as conn:
        for name in names:
            conn.execute(text(f'DROP INDEX "{name}"'))  # nosec B608 - names read from pg_indexes
        conn.execute(text("ANALYZE patients"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7, help="runs of each query")
    parser.add_argument(
        "--no-compare",
        action="store_true",
        help="PostgreSQL: measure only as migrated, not again without the trigram indexes",
    )
    args = parser.parse_args(argv)
    with DatabaseOnly(args) as stack:
        seconds = generate(stack, args.patients)
        indexes = trigram_indexes(stack)
        runs = {"as_migrated": measure(stack, args.repeat)}
        if indexes and not args.no_compare:
            drop(stack, indexes)
            runs["without_trigram_indexes"] = measure(stack, args.repeat)
        result = {
            "database": stack.database_kind,
            "patients": args.patients,
            "generate_seconds": seconds,
            "trigram_indexes": indexes,
            "runs": runs,
        }
    path = write_result(args, NAME, result)
    for run, figures in runs.items():
        print(f"{NAME} ({result['database']}, {args.patients} patients, {run}):")
        for f in figures:
            print(f"  {f['query']:<28} {f['q']!r:<28} found {f['found']:>6}  "
                  f"median {f['median_ms']:>7} ms  max {f['max_ms']:>7} ms")  # fmt: skip
    print(f"-> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
