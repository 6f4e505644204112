"""Sink metrics: stable names, units in the name."""

from prometheus_client import Counter, Histogram

ROWS = Counter("paypipe_sink_rows_written", "Rows written, by table.", ["table"])
BATCH_SIZE = Histogram(
    "paypipe_sink_batch_size",
    "Events per written batch.",
    buckets=(1, 10, 50, 100, 250, 500, 1000, 2000, 5000),
)
BATCH_SECONDS = Histogram(
    "paypipe_sink_batch_seconds",
    "Time to write one batch, commit included.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
DB_ERRORS = Counter(
    "paypipe_sink_db_errors", "Failed database writes, by error class.", ["error_class"]
)
END_TO_END = Histogram(
    "paypipe_end_to_end_seconds",
    "From ingress receipt to PostgreSQL commit.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
