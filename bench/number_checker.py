"""What checking a number file in the bot's memory-capped child process costs over checking it
in-process: `python -m bench.number_checker [--rows N] [--runs K]`.

Prints both times (best of K) and their ratio; the baseline is the in-process call, measured in
the same run on the same generated file (the one bench.numbers_pipeline uses).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from bench.numbers_pipeline import generate
from bot.numbers.worker import NumberChecker, check_and_write


async def _worker_best(path: Path, runs: int) -> float:
    checker = NumberChecker(workers=1)
    best = float("inf")
    try:
        for _ in range(runs):
            started = time.perf_counter()
            await checker.check(path, path.name, "91", "auto")
            best = min(best, time.perf_counter() - started)
    finally:
        checker.close()
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "numbers.xlsx"
        generate(path, args.rows)
        check_and_write(str(path), path.name, "91", "auto")  # warm-up
        inline = float("inf")
        for _ in range(args.runs):
            started = time.perf_counter()
            check_and_write(str(path), path.name, "91", "auto")
            inline = min(inline, time.perf_counter() - started)
        worker = asyncio.run(_worker_best(path, args.runs))
    print(f"rows: {args.rows}")
    print(f"in-process (baseline): {inline:.3f} s")
    print(f"checker process:       {worker:.3f} s")
    print(
        f"ratio: {worker / inline:.2f}x (the price of isolation: spawn, import, copy the parts back)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
