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

    certs = commands.add_parser(
        "dev-certs",
        help="write the dev PayPal signing key and certificate (dev mode only)",
        description="Create .local/dev/paypal/key.pem and cert.pem unless they exist. In dev mode "
        "the processor trusts PAYPAL-CERT-URL file:// URLs under .local/dev/ and nothing else.",
    )
    certs.set_defaults(run=_dev_certs)


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


def _dev_certs(_: argparse.Namespace) -> int:
    from schemas.config import load_common
    from schemas.providers.paypal_certs import write_dev_certificate

    common = load_common()
    if common.is_prod:
        sys.stderr.write("dev-certs: refused in production (PAYPIPE_ENV=prod)\n")
        return 2
    path = write_dev_certificate(common.dev_dir / "paypal")
    sys.stdout.write(f"PayPal dev certificate: {path}\n")
    return 0
