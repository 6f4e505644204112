#!/usr/bin/env bash
# `make up`: everything from nothing, then ingress, processor and sink in the background.
# Idempotent: a second run reports what is already running.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bin="$root/.venv/bin"
run="$root/.local/run"
logs="$root/.local/log"
mkdir -p "$run" "$logs"

scripts/kafka.sh start
scripts/postgres.sh start
"$bin/paypipe" topics create >/dev/null
"$bin/paypipe" migrate
"$bin/paypipe" dev-certs

alive() { [ -f "$run/$1.pid" ] && kill -0 "$(cat "$run/$1.pid")" 2>/dev/null; }

# Readiness is read only from what each log gains after this start, never from older runs.
declare -A mark
for service in ingress processor sink; do
  touch "$logs/$service.log"
  mark[$service]=$(stat -c %s "$logs/$service.log")
  if alive "$service"; then
    echo "$service: already running (pid $(cat "$run/$service.pid"))"
    mark[$service]=0
    continue
  fi
  nohup "$bin/paypipe" "$service" >>"$logs/$service.log" 2>&1 &
  echo $! >"$run/$service.pid"
  echo "$service: started (pid $!), log .local/log/$service.log"
done

since() { tail -c +"$(( ${mark[$1]} + 1 ))" "$logs/$1.log"; }
# Ready when ingress answers /readyz and both workers have finished their first assignment.
ready=""
for _ in $(seq 1 120); do
  if curl -fsS "http://${INGRESS_HOST:-127.0.0.1}:${INGRESS_PORT:-8080}/readyz" >/dev/null 2>&1 \
     && since processor | grep -q "Worker ready" && since sink | grep -q "Worker ready"; then
    ready=yes
    break
  fi
  for service in ingress processor sink; do
    alive "$service" || { echo "$service exited; see .local/log/$service.log" >&2; tail -n 20 "$logs/$service.log" >&2; exit 1; }
  done
  sleep 0.5
done
[ -n "$ready" ] || { echo "paypipe did not become ready in 60 s; see .local/log/" >&2; exit 1; }

host=${INGRESS_HOST:-127.0.0.1}; port=${INGRESS_PORT:-8080}
cat <<TXT

paypipe is up.
  ingress      http://$host:$port   (/healthz /readyz /metrics /openapi.json)
  processor    metrics http://127.0.0.1:${PROCESSOR_METRICS_PORT:-6066}/metrics
  sink         metrics http://127.0.0.1:${SINK_METRICS_PORT:-6067}/metrics
  kafka        ${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:9092}
  postgresql   ${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/paypipe}
  endpoints    $(for e in stripe paypal adyen square standard; do printf 'http://%s:%s/webhooks/%s ' "$host" "$port" "$e"; done)
  logs         .local/log/    stop with: make down
TXT
