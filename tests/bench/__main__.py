"""`python -m tests.bench` (what `make bench` runs): every benchmark, then BENCHMARKS.{json,md}."""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.bench import (
    end_to_end,
    ingress_bench,
    processor_bench,
    report,
    restart_bench,
    sink_bench,
)
from tests.bench.context import Context, machine
from tests.support.services import ROOT

BENCHES: dict[str, Callable[[Context], dict[str, Any]]] = {
    "ingress": ingress_bench.run,
    "processor": processor_bench.run,
    "sink": sink_bench.run,
    "end_to_end": end_to_end.run,
    "restart": restart_bench.run,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small counts and short runs (smoke)")
    parser.add_argument(
        "--duration", type=float, help="seconds per measured run (default 30; quick 3)"
    )
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(BENCHES)}")
    parser.add_argument("--output", type=Path, default=ROOT, help="where BENCHMARKS.{json,md} go")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    chosen = args.only.split(",") if args.only else list(BENCHES)
    unknown = [c for c in chosen if c not in BENCHES]
    if unknown:
        parser.error(f"unknown benchmarks: {unknown}")
    results: dict[str, Any] = {
        "command": "make bench"
        if argv is None and len(sys.argv) == 1
        else shlex.join(
            ["python", "-m", "tests.bench", *(argv if argv is not None else sys.argv[1:])]
        ),
        "quick": args.quick,
        "machine": machine(),
        "failed": {},
    }
    with tempfile.TemporaryDirectory(prefix="paypipe-bench-") as tmp:
        ctx = Context.create(args.quick, args.duration, Path(tmp))
        for name in chosen:
            sys.stderr.write(f"bench {name}…\n")
            started = time.monotonic()
            try:
                results[name] = BENCHES[name](ctx)
            except Exception as exc:  # one broken bench must not hide the others' figures
                logging.exception("bench %s failed", name)
                results["failed"][name] = f"{type(exc).__name__}: {exc}"
            sys.stderr.write(f"bench {name} took {time.monotonic() - started:.0f} s\n")
    results["finished_at"] = time.strftime("%Y-%m-%d %H:%M %Z")
    data, text = report.write(results, args.output)
    sys.stdout.write(f"Wrote {data} and {text}\n")
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
