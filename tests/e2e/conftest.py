from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from schemas.topics import Topics
from tests.support.stack import Stack


@pytest.fixture
def stack(kafka_bootstrap: str, clean_db: str, topics: Topics, tmp_path: Path) -> Iterator[Stack]:
    """Ingress, processor and sink as processes on fresh topics and an empty database."""
    running = Stack(kafka_bootstrap, clean_db, topics.prefix, tmp_path)
    try:
        running.start_all()
        yield running
    finally:
        running.stop_all()
