"""`ccbot numbers check FILE [--ccode CC] [--out CLEAN_FILE] [--sheet NAME]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.config import Settings
from bot.numbers.errors import NumberFileError
from bot.numbers.normalise import NO_COUNTRY_CODE
from bot.numbers.pipeline import check_number_file


def check_command(args: argparse.Namespace, settings: Settings) -> int:
    """Print the report, write the clean file(s) and the rejected rows.

    Exit 0 when the file was readable and has at least one valid number; 1 for a file that cannot
    be used (its one-sentence reason goes to stderr) or one without a valid number.
    """
    source = Path(args.file)
    try:
        checked = check_number_file(source, default_ccode=args.ccode, sheet=args.sheet)
    except NumberFileError as exc:
        print(f"ccbot: {exc.message}", file=sys.stderr)
        return 1
    for line in checked.report.lines():
        print(line)
    if not args.ccode and any(
        sample.reason == NO_COUNTRY_CODE for sample in checked.report.rejected_samples
    ):
        print("National numbers need a country code: give it with --ccode, e.g. --ccode 91.")
    out_dir = Path(args.out).parent if args.out else source.parent
    try:
        if args.out:
            files = checked.write_clean_to(Path(args.out))
        else:
            files = checked.write_clean(out_dir, fmt=settings.number_file_format)
        for clean in files:
            print(
                f"Clean file: {clean.path} ({clean.rows:,} number{'' if clean.rows == 1 else 's'}; "
                f"upload name {clean.file_name})"
            )
        rejected = checked.write_rejected(out_dir)
        if rejected is not None:
            print(f"Rejected rows: {rejected}")
    except NumberFileError as exc:
        print(f"ccbot: {exc.message}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"ccbot: cannot write {exc.filename or out_dir}: {exc.strerror}.", file=sys.stderr)
        return 1
    if not checked.report.valid:
        print("ccbot: no valid numbers, so no clean file was written.", file=sys.stderr)
        return 1
    return 0
