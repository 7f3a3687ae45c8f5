"""What redacting one log line costs as SIP passwords pile up: `python -m bench.log_scrub`.

ours: bot.logs' registry (one Aho-Corasick automaton over every spelling of every secret).
baseline: one regex alternation of the same spellings, longest first (what bot.logs did before),
measured in the same run on the same lines. Prints microseconds per line and the ratio.
"""

from __future__ import annotations

import argparse
import functools
import random
import re
import string
import time

from bot.logs import MASK, _SecretRegistry, _spellings

LINE = (
    "Calling Bot API endpoint `sendMessage` with parameters `{'chat_id': 1001, 'text': "
    "'<b>SIP logins of Sales-Team</b>\\nagent_001: account <code>agent_001</code> password "
    "<code>{pw}</code>\\nagent_002: account <code>agent_002</code>', 'parse_mode': 'HTML'}`"
)


def _best(fn, lines: list[str], runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        for line in lines:
            fn(line)
        best = min(best, (time.perf_counter() - started) / len(lines))
    return best * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    rng = random.Random(7)
    alphabet = string.ascii_letters + string.digits
    print(f"{'secrets':>8} {'ours µs/line':>13} {'regex µs/line':>14} {'ratio':>6}")
    for count in (10, 100, 1000, 5000):
        secrets = ["".join(rng.choice(alphabet) for _ in range(10)) for _ in range(count)]
        registry = _SecretRegistry()
        for secret in secrets:
            registry.add(secret)
        spellings = sorted(
            {s for secret in secrets for s in _spellings(secret)}, key=len, reverse=True
        )
        pattern = re.compile("|".join(map(re.escape, spellings)))
        # half the lines carry a registered password, half an unknown one
        lines = [
            LINE.replace("{pw}", secrets[i % count] if i % 2 else f"unknown{i:05d}")
            for i in range(args.lines)
        ]
        assert all(registry.mask(line) == pattern.sub(MASK, line) for line in lines[:50])
        ours = _best(registry.mask, lines, args.runs)
        baseline = _best(functools.partial(pattern.sub, MASK), lines, args.runs)
        print(f"{count:>8} {ours:>13.1f} {baseline:>14.1f} {baseline / ours:>5.1f}×")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
