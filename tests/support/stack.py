"""The three services as processes, started the way `make up` starts them.

Each stack gets its own topic prefix, consumer groups, ports and processor state directory, so
stacks never see each other's records. Tests may kill -9 and restart single services.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.support.services import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Stack:
    SERVICES = ("ingress", "processor", "sink")

    def __init__(self, kafka: str, database_url: str, prefix: str, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": kafka,
            "DATABASE_URL": database_url,
            "PAYPIPE_TOPIC_PREFIX": prefix,
            "PAYPIPE_CONFIG": str(ROOT / "config" / "dev.toml"),
            "INGRESS_PORT": str(self.port),
            "PROCESSOR_METRICS_PORT": str(free_port()),
            "SINK_METRICS_PORT": str(free_port()),
            "PAYPIPE_PROCESSOR_DATA": str(workdir / "processor-data"),
            "PAYPIPE_PROCESSOR_ID": f"{prefix}-processor",
            "PAYPIPE_SINK_ID": f"{prefix}-sink",
            "PAYPIPE_DEV_DIR": str(workdir / "dev"),
            "PYTHONUNBUFFERED": "1",
        }
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self, service: str) -> Path:
        return self.workdir / f"{service}.log"

    def start(self, service: str) -> None:
        log = self.log(service)
        marker = log.stat().st_size if log.exists() else 0
        with log.open("ab") as out:
            self.procs[service] = subprocess.Popen(
                [sys.executable, "-m", "schemas.cli", service],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self._wait_ready(service, marker)

    def start_all(self) -> None:
        for service in self.SERVICES:
            self.start(service)

    def _wait_ready(self, service: str, marker: int, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc = self.procs[service]
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{service} exited with {proc.returncode}:\n{self.tail(service)}"
                )
            if service == "ingress":
                try:
                    with urllib.request.urlopen(f"{self.url}/readyz", timeout=1) as answer:
                        if answer.status == 200:
                            return
                except OSError:
                    pass
            elif b"Worker ready" in self.log(service).read_bytes()[marker:]:
                return
            time.sleep(0.2)
        raise RuntimeError(f"{service} not ready after {timeout} s:\n{self.tail(service)}")

    def kill(self, service: str) -> None:
        """kill -9: no shutdown, no flush, no commit."""
        proc = self.procs.pop(service)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            proc.terminate()
        for service, proc in list(self.procs.items()):
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
            del self.procs[service]

    def tail(self, service: str, lines: int = 40) -> str:
        path = self.log(service)
        if not path.exists():
            return "(no log)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
