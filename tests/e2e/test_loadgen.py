"""`paypipe loadgen --verify` against the services as processes: the balance holds, and can fail."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from schemas.topics import Topics
from tests.support.services import ROOT
from tests.support.stack import Stack

ARGS = [
    "--rate",
    "100",
    "--duration",
    "3",
    "--concurrency",
    "16",
    "--duplicates",
    "0.1",
    "--out-of-order",
    "0.05",
    "--bad-signatures",
    "0.05",
    "--poison",
    "0.05",
    "--seed",
    "5",
    "--verify",
    "--json",
    "--quiet",
]


def loadgen(env: dict[str, str], *args: str) -> tuple[int, dict[str, Any], str]:
    done = subprocess.run(
        [sys.executable, "-m", "schemas.cli", "loadgen", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    try:
        result = json.loads(done.stdout)
    except ValueError:
        result = {}
    return done.returncode, result, done.stderr


def test_loadgen_verify_balances_through_the_running_pipeline(stack: Stack) -> None:
    code, result, stderr = loadgen(stack.env, *ARGS, "--drain-timeout", "60")
    assert code == 0, (json.dumps(result), stderr, stack.tail("processor"), stack.tail("sink"))
    check = result["verify"]
    assert check["ok"] and not check["problems"]
    kinds = result["kinds"]
    assert kinds["duplicate"] and kinds["bad_signature"] and kinds["poison"]
    # HMAC providers refuse bad signatures at the edge (401); PayPal's are refused by the processor.
    assert check["rejected"] == kinds["bad_signature"]
    assert check["edge_rejected"] == result["statuses"]["401"] > 0
    assert check["rejected_by_stage"].get("ingress") == check["edge_rejected"]
    assert check["answered"] == check["persisted"] + check["dead_lettered"] + check["rejected"]
    assert check["dead_lettered"] == kinds["poison"]
    assert 0 < check["end_to_end_ms"]["p50"] <= check["end_to_end_ms"]["p99"]


def test_loadgen_verify_fails_when_nothing_reaches_the_database(
    kafka_bootstrap: str, clean_db: str, topics: Topics, tmp_path: Path
) -> None:
    """Records produced straight to a raw topic no processor reads never balance."""
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "DATABASE_URL": clean_db,
        "PAYPIPE_TOPIC_PREFIX": topics.prefix,
        "PAYPIPE_CONFIG": str(ROOT / "config" / "dev.toml"),
        "PAYPIPE_DEV_DIR": str(tmp_path / "dev"),
    }
    code, result, stderr = loadgen(env, *ARGS, "--target", "raw", "--drain-timeout", "3")
    assert code == 1, (result, stderr)
    check = result["verify"]
    assert not check["ok"]
    assert result["accepted"] == result["sent"] > 0  # Kafka took every record
    assert check["problems"]["missing"]["count"] == check["answered"] > 0
    assert check["persisted"] == check["dead_lettered"] == check["rejected"] == 0
