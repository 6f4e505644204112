"""`paypipe processor` and `paypipe topics create`."""

from __future__ import annotations

import argparse
import asyncio
import sys


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = commands.add_parser(
        "processor",
        help="run a processor worker (verify → dedupe → normalize, retry tiers)",
        description="Run one Faust worker. Scale with partitions × worker processes.",
    )
    run.set_defaults(run=_run)

    topics = commands.add_parser("topics", help="manage the pipeline's Kafka topics")
    actions = topics.add_subparsers(metavar="ACTION", required=True)
    create = actions.add_parser(
        "create",
        help="create every pipeline topic that does not exist yet, with retention",
        description="Create payments.raw, .normalized, .rejected, .dlq and the retry tiers.",
    )
    create.add_argument("--partitions", type=int, help="partitions per topic (default: config)")
    create.set_defaults(run=_create_topics)


def _run(_: argparse.Namespace) -> int:
    from processors.__main__ import main

    main()
    return 0


def _create_topics(args: argparse.Namespace) -> int:
    from processors.settings import ProcessorSettings
    from processors.topics import create_topics, pipeline_topics
    from schemas.topics import Topics

    settings = ProcessorSettings.load()
    partitions = args.partitions or settings.partitions
    specs = pipeline_topics(Topics(settings.common.topic_prefix), partitions, settings.retry_delays)
    created = asyncio.run(create_topics(settings.common.kafka_bootstrap_servers, specs))
    for spec in specs:
        state = "created" if spec.name in created else "exists"
        sys.stdout.write(
            f"{spec.name:<32} {state:<8} partitions={spec.partitions} "
            f"retention={spec.retention_ms // 3600000}h\n"
        )
    return 0
