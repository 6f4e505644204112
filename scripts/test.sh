#!/usr/bin/env bash
# `make test`: start Kafka and PostgreSQL unless they already run, run the whole suite,
# and stop only what this run started.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
started=()
if [ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ] && ! scripts/kafka.sh status >/dev/null 2>&1; then
  scripts/kafka.sh start || exit 1
  started+=(kafka)
fi
if ! scripts/postgres.sh status >/dev/null 2>&1; then
  scripts/postgres.sh start || exit 1
  started+=(postgres)
fi
cleanup() { for s in "${started[@]}"; do scripts/$s.sh stop; done; }
trap cleanup EXIT
export KAFKA_BOOTSTRAP_SERVERS=${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:9092}
export PAYPIPE_REQUIRE_SERVICES=1
.venv/bin/python -m pytest "$@"
