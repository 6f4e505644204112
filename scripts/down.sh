#!/usr/bin/env bash
# `make down`: stop what `make up` started. Data stays under .local/.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
run="$root/.local/run"
for service in ingress processor sink; do
  pidfile="$run/$service.pid"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    pid=$(cat "$pidfile")
    kill "$pid"
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    echo "$service: stopped"
  else
    echo "$service: not running"
  fi
  rm -f "$pidfile"
done
scripts/kafka.sh stop
scripts/postgres.sh stop
