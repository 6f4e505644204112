"""`paypipe ingress`."""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "ingress",
        help="run the HTTP ingress (POST /webhooks/{endpoint} → payments.raw)",
        description="Serve the webhook endpoints of the config file on INGRESS_HOST:INGRESS_PORT.",
    )
    parser.set_defaults(run=_run)


def _run(_: argparse.Namespace) -> int:
    from ingress.__main__ import main

    main()
    return 0
