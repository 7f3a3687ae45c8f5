"""Benchmark: the number-file pipeline against the straightforward one, on 100,000 rows.

    python -m bench.numbers_pipeline [--rows 100000] [--runs 5] [--skip-baseline]

Generates an .xlsx like a CRM export (phone column stored as numbers, two text columns, 2% invalid
numbers, 3% duplicates), then times, in the same run:
- ours: check_number_file (read with calamine, check against precompiled phonenumbers metadata,
  dedupe) and write_clean (the platform's .xlsx), best of --runs;
- baseline: openpyxl read, phonenumbers.parse + is_valid_number per row, openpyxl write.
Peak memory is the maximum RSS of a child process that runs each pipeline once (the Rust reader's
memory is invisible to tracemalloc). Targets: ours <= 1.5 s and >= 5x faster than the baseline.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 1.5
TARGET_SPEEDUP = 5.0
CITIES = ["Mumbai", "Delhi", "Bengaluru", "Hyderabad", "Chennai", "Kolkata", "Pune", "Jaipur"]


def generate(path: Path, rows: int, seed: int = 1) -> dict[str, int]:
    """The benchmark file; returns how many invalid and duplicate rows it holds."""
    import xlsxwriter

    rng = random.Random(seed)
    workbook = xlsxwriter.Workbook(str(path))  # shared strings, as Excel writes them
    sheet = workbook.add_worksheet("Customers")
    sheet.write_row(0, 0, ["Phone", "Customer name", "City"])
    issued: list[float] = []
    invalid = duplicates = 0
    for row in range(1, rows + 1):
        roll = rng.random()
        if roll < 0.02:
            invalid += 1
            kind = row % 3
            if kind == 0:
                sheet.write_number(row, 0, float(rng.randrange(10_000, 999_999)))  # too short
            elif kind == 1:
                sheet.write_string(row, 0, "9.19877E+11")  # Excel's scientific notation
            else:
                sheet.write_string(row, 0, f"98{rng.randrange(10**7):07d}x")  # a typo
        elif roll < 0.05 and issued:
            duplicates += 1
            sheet.write_number(row, 0, rng.choice(issued))
        else:
            number = float(
                91_00_0000_0000 + rng.choice((6, 7, 8, 9)) * 10**9 + rng.randrange(10**9)
            )
            issued.append(number)
            sheet.write_number(row, 0, number)
        sheet.write_string(row, 1, f"Customer {row}")
        sheet.write_string(row, 2, rng.choice(CITIES))
    workbook.close()
    return {"invalid": invalid, "duplicates": duplicates}


def run_ours(source: Path, out_dir: Path) -> dict[str, float | int]:
    from bot.numbers import check_number_file

    started = time.perf_counter()
    checked = check_number_file(source, default_ccode="91")
    checked_at = time.perf_counter()
    files = checked.write_clean(out_dir, fmt="auto")
    done = time.perf_counter()
    return {
        "seconds": done - started,
        "check_seconds": checked_at - started,
        "write_seconds": done - checked_at,
        "valid": checked.report.valid,
        "invalid": checked.report.invalid,
        "duplicates": checked.report.duplicates,
        "files": len(files),
    }


def run_baseline(source: Path, out_dir: Path) -> dict[str, float | int]:
    """The straightforward pipeline: openpyxl in, phonenumbers per row, openpyxl out."""
    import openpyxl
    import phonenumbers

    started = time.perf_counter()
    workbook = openpyxl.load_workbook(source, read_only=True)
    rows = workbook.worksheets[0].iter_rows(values_only=True)
    header = next(rows)
    seen: set[str] = set()
    clean = []
    invalid = duplicates = 0
    for row in rows:
        value = row[0]
        text = str(int(value)) if isinstance(value, float) else str(value or "")
        try:
            number = phonenumbers.parse(text, "IN")
        except phonenumbers.NumberParseException:
            invalid += 1
            continue
        if not phonenumbers.is_valid_number(number):
            invalid += 1
            continue
        digits = f"{number.country_code}{phonenumbers.national_significant_number(number)}"
        if digits in seen:
            duplicates += 1
            continue
        seen.add(digits)
        clean.append((digits, *row[1:]))
    workbook.close()
    out = openpyxl.Workbook(write_only=True)
    sheet = out.create_sheet()
    sheet.append(list(header))
    for values in clean:
        sheet.append(values)
    out.save(out_dir / "baseline.xlsx")
    return {
        "seconds": time.perf_counter() - started,
        "valid": len(clean),
        "invalid": invalid,
        "duplicates": duplicates,
    }


def _peak_rss_mb() -> float:
    """This process's peak RSS. Linux keeps ru_maxrss across exec (a child started by a big
    parent would report the parent's size), so prefer VmHWM, which starts afresh at exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(which: str, source: Path, out_dir: Path) -> None:
    if which == "imports":
        import openpyxl  # noqa: F401
        import phonenumbers  # noqa: F401
        import python_calamine  # noqa: F401
        import xlwt  # noqa: F401

        import bot.numbers  # noqa: F401

        print(json.dumps({"max_rss_mb": _peak_rss_mb()}))
        return
    result = (run_ours if which == "ours" else run_baseline)(source, out_dir)
    result["max_rss_mb"] = _peak_rss_mb()
    print(json.dumps(result))


def _in_child(which: str, source: Path, out_dir: Path) -> dict[str, float]:
    output = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.numbers_pipeline",
            "--child",
            which,
            str(source),
            str(out_dir),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument(
        "--child", nargs=3, metavar=("WHICH", "SOURCE", "OUT_DIR"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return 0

    with tempfile.TemporaryDirectory(prefix="ccbot-bench-") as tmp:
        work = Path(tmp)
        source = work / "crm-export.xlsx"
        made = generate(source, args.rows)
        print(
            f"input: {args.rows:,} rows, {source.stat().st_size / 2**20:.1f} MB .xlsx "
            f"({made['invalid']:,} invalid, {made['duplicates']:,} duplicates)"
        )

        run_ours(source, work / "warm-up")  # imports, metadata compilation, page cache
        runs = [run_ours(source, work / f"ours-{i}") for i in range(args.runs)]
        best = min(runs, key=lambda run: run["seconds"])
        all_runs = ", ".join(f"{run['seconds']:.3f}" for run in runs)
        ours_memory = _in_child("ours", source, work / "ours-child")
        print(
            f"ours:     best of {args.runs}: {best['seconds']:.3f} s "
            f"(read+check {best['check_seconds']:.3f} s, write {best['write_seconds']:.3f} s); "
            f"all runs: {all_runs}; "
            f"valid {best['valid']:,}, invalid {best['invalid']:,}, duplicates {best['duplicates']:,}"
        )
        floor = _in_child("imports", source, work)["max_rss_mb"]
        print(
            f"ours:     peak RSS {ours_memory['max_rss_mb']:.0f} MB (interpreter + imports: {floor:.0f} MB)"
        )
        ok = best["seconds"] <= TARGET_SECONDS
        if not args.skip_baseline:
            baseline = _in_child("baseline", source, work)
            speedup = baseline["seconds"] / best["seconds"]
            print(
                f"baseline: {baseline['seconds']:.3f} s, peak RSS {baseline['max_rss_mb']:.0f} MB; "
                f"valid {baseline['valid']:,}, invalid {baseline['invalid']:,}, "
                f"duplicates {baseline['duplicates']:,}"
            )
            print(f"speed-up: {speedup:.1f}x")
            ok = ok and speedup >= TARGET_SPEEDUP
        print(
            f"targets (<= {TARGET_SECONDS} s, >= {TARGET_SPEEDUP:.0f}x faster): "
            + ("met" if ok else "NOT met")
        )
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
