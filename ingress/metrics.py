"""Ingress metrics: stable names, units in the name."""

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter(
    "paypipe_ingress_requests",
    "Webhook requests answered, by endpoint and status.",
    ["endpoint", "status"],
)
REQUEST_SECONDS = Histogram(
    "paypipe_ingress_request_seconds",
    "Time from request to answer.",
    ["endpoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
BODY_BYTES = Histogram(
    "paypipe_ingress_body_bytes",
    "Size of accepted webhook bodies.",
    ["endpoint"],
    buckets=(256, 1024, 4096, 16384, 65536, 262144, 1048576),
)
IN_FLIGHT = Gauge(
    "paypipe_ingress_producer_in_flight", "Records sent to Kafka and not yet acknowledged."
)
SEND_SECONDS = Histogram(
    "paypipe_ingress_kafka_send_seconds",
    "Time until Kafka acknowledged a raw record (acks=all).",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
