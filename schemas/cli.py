"""`paypipe`: one entry point whose subcommands the services contribute.

Each service registers its own subcommands through the `paypipe.commands` entry point group,
so this dispatcher imports no service and the services never import each other.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paypipe",
        description="Payment-provider webhooks → Kafka → verified, deduplicated → PostgreSQL.",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for entry in sorted(entry_points(group="paypipe.commands"), key=lambda e: e.name):
        entry.load()(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result = args.run(args)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
