"""BENCHMARKS.json (machine-readable) and BENCHMARKS.md (a table per figure, with its baseline)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write(results: dict[str, Any], root: Path) -> tuple[Path, Path]:
    root.mkdir(parents=True, exist_ok=True)
    data, text = root / "BENCHMARKS.json", root / "BENCHMARKS.md"
    data.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    text.write_text(markdown(results), encoding="utf-8")
    return data, text


def _n(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    if isinstance(value, float):
        return f"{value:,.1f}" if value >= 10 else f"{value:,.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    return "–" if value is None else str(value)


def markdown(r: dict[str, Any]) -> str:
    m = r["machine"]
    out = [
        "# paypipe benchmarks",
        "",
        f"Measured {r['finished_at']} with `{r['command']}`{' (quick mode: smoke figures only)' if r['quick'] else ''}.",
        "",
        f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory_gib']} GiB RAM, {m['os']}; "
        f"Python {m['python']}, Apache Kafka {m['kafka']}, PostgreSQL {m['postgresql']}; "
        f"load average at start {m['load_average_at_start']:.2f}.",
        "All services, Kafka, PostgreSQL and the load generator share this machine.",
        "",
    ]
    a = r.get("ingress")
    if a:
        out += [
            "## (a) Ingress — accepted requests/s, against a bare aiohttp handler (202, no Kafka)",
            "",
            "| | requests/s | p50 ms | p99 ms | errors |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        for name in ("ingress", "baseline"):
            x = a[name]
            out.append(
                f"| {name} | {_n(x['accepted_per_second'])} | {_n(x['latency_ms'].get('p50'))} | {_n(x['latency_ms'].get('p99'))} | {_n(x['errors'])} |"
            )
        out += [
            "",
            f"Ratio ingress / bare: **{a['ratio']:.2f}** (target {a['target']}: {_n(a['meets_target'])}); {a['concurrency']} connections, {a['seconds']} s each.",
            "",
        ]
    b = r.get("processor")
    if b:
        out += [
            "## (b) Processor — events/s per worker process, against raw aiokafka consume → HMAC verify → produce",
            "",
            "| | events/s |",
            "| --- | ---: |",
            f"| processor (1 worker) | {_n(b['processor_events_per_second'])} |",
            f"| raw aiokafka loop | {_n(b['baseline_events_per_second'])} |",
            "",
            f"Ratio: **{b['ratio']:.2f}**; {_n(b['events'])} events, {_n(b['processor_completed'])} normalized (target {b['target']}: {_n(b['meets_target'])}).",
            "",
        ]
    c = r.get("sink")
    if c:
        out += [
            "## (c) Sink — rows/s into PostgreSQL, against a raw COPY of the same rows",
            "",
            "| | rows/s |",
            "| --- | ---: |",
            f"| sink (1 worker) | {_n(c['sink_rows_per_second'])} |",
            f"| raw COPY | {_n(c['baseline_copy_rows_per_second'])} |",
            "",
            f"Ratio: **{c['ratio']:.2f}**; {_n(c['rows'])} rows, {_n(c['persisted'])} persisted (target {c['target']}: {_n(c['meets_target'])}).",
            "",
        ]
    d = r.get("end_to_end")
    if d:
        out += [
            "## (d) End to end — HTTP in, PostgreSQL row committed",
            "",
            "| target/s | accepted/s | errors | HTTP p50/p99 ms | end-to-end p50/p99/max ms | balanced | sustainable |",
            "| ---: | ---: | ---: | ---: | ---: | :---: | :---: |",
        ]
        for x in d["rates"]:
            h, e = x["http_latency_ms"], x["end_to_end_ms"]
            out.append(
                f"| {_n(x['target_rate'])} | {_n(x['accepted_per_second'])} | {_n(x['errors'])} | "
                f"{_n(h.get('p50'))} / {_n(h.get('p99'))} | {_n(e.get('p50'))} / {_n(e.get('p99'))} / {_n(e.get('max'))} | "
                f"{_n(x['balanced'])} | {_n(x['sustainable'])} |"
            )
        out += [
            "",
            f"Maximum sustainable rate: **{_n(d['max_sustainable_rate'])} events/s** ({d['seconds_per_rate']} s per step; target {d['target']}: {_n(d['meets_target'])}; "
            f"{d.get('latency_target', 'p99 latency')}: {_n(d.get('meets_latency_target'))}).",
            "End-to-end latency is `persisted_at - received_at`; `persisted_at` is the writing transaction's `now()` (its start), a few ms before the commit.",
            "",
            "## (e) Resident memory per service",
            "",
            "| service | idle MiB | peak MiB |",
            "| --- | ---: | ---: |",
        ]
        out += [
            f"| {s} | {_n(v['idle_mib'])} | {_n(v['peak_mib'])} |" for s, v in d["memory"].items()
        ]
        out.append("")
    f = r.get("restart")
    if f:
        out += [
            "## (f) Processor restart with a full dedupe table",
            "",
            "| dedupe keys | cold restart s (changelog replay) | warm restart s (local RocksDB) |",
            "| ---: | ---: | ---: |",
            f"| {_n(f['dedupe_keys'])} | {_n(f['cold_restart_seconds'])} | {_n(f['warm_restart_seconds'])} |",
            "",
        ]
    failed = r.get("failed", {})
    if failed:
        out += (
            ["## Benchmarks that failed to run", ""]
            + [f"- {k}: {v}" for k, v in failed.items()]
            + [""]
        )
    return "\n".join(out)
