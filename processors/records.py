"""A raw record as the processors see it, independent of Faust's event objects."""

from __future__ import annotations

import re
from dataclasses import dataclass

from schemas import headers as h
from schemas.normalized import RawRef

_SOURCE = re.compile(r"^(?P<topic>.+)\[(?P<partition>\d+)\]@(?P<offset>\d+)$")


@dataclass(frozen=True, slots=True)
class RawRecord:
    key: bytes
    value: bytes
    headers: dict[str, str]
    topic: str
    partition: int
    offset: int

    @property
    def position(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"

    @property
    def origin(self) -> RawRef:
        """Where the raw record first landed: retried and replayed records keep their origin."""
        match = _SOURCE.match(self.headers.get(h.SOURCE, ""))
        if match:
            return RawRef(match["topic"], int(match["partition"]), int(match["offset"]))
        return RawRef(self.topic, self.partition, self.offset)

    @property
    def origin_text(self) -> str:
        ref = self.origin
        return f"{ref.topic}[{ref.partition}]@{ref.offset}"

    def log_fields(self) -> dict[str, str]:
        return {
            "request_id": self.headers.get(h.REQUEST_ID, "-"),
            "endpoint": self.headers.get(h.ENDPOINT, "-"),
            "provider": self.headers.get(h.PROVIDER, "-"),
            "source": self.position,
        }
