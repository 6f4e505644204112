#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft) from Maven Central jars: no Docker needed.
#   scripts/kafka.sh start|stop|status
# State, logs and the pid live under .local/kafka/. Idempotent: `start` on a running broker,
# or with one already answering on the port, reports it and returns.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/.local/kafka"
libs="$dir/libs"
pidfile="$dir/kafka.pid"
log="$dir/server.log"
host=127.0.0.1
port=${KAFKA_PORT:-9092}
controller_port=${KAFKA_CONTROLLER_PORT:-9093}

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
listening() { (exec 3<>"/dev/tcp/$host/$1") 2>/dev/null; }

fetch_jars() {
  if [ -f "$libs/.complete" ]; then return; fi
  command -v mvn >/dev/null || { echo "kafka: Maven (mvn) is needed to fetch the broker jars" >&2; exit 1; }
  command -v java >/dev/null || { echo "kafka: a Java runtime (17+) is needed" >&2; exit 1; }
  echo "kafka: fetching Apache Kafka jars from Maven Central"
  rm -rf "$libs"
  mvn -B -q -f "$root/scripts/kafka/pom.xml" package -Dlibs.dir="$libs"
  touch "$libs/.complete"
}

write_config() {
  mkdir -p "$dir/data"
  cat >"$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$host:$controller_port
listeners=PLAINTEXT://$host:$port,CONTROLLER://$host:$controller_port
advertised.listeners=PLAINTEXT://$host:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
num.partitions=4
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
# Faust makes its changelog topics; paypipe topics create makes the pipeline topics.
log.retention.hours=168
PROPS
  cat >"$dir/log4j2.yaml" <<'YAML'
Configuration:
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: INFO
      AppenderRef:
        - ref: STDOUT
    Logger:
      - name: kafka.request.logger
        level: WARN
      - name: state.change.logger
        level: WARN
YAML
}

start() {
  if running; then echo "kafka: already running (pid $(cat "$pidfile")) on $host:$port"; return; fi
  if listening "$port"; then echo "kafka: something already answers on $host:$port; using it"; return; fi
  fetch_jars
  write_config
  if [ ! -f "$dir/data/meta.properties" ]; then
    cluster_id=$(java -cp "$libs/*" kafka.tools.StorageTool random-uuid)
    java -cp "$libs/*" kafka.tools.StorageTool format --ignore-formatted \
      -t "$cluster_id" -c "$dir/server.properties" >/dev/null
  fi
  : >"$log"
  nohup java -Xms512m -Xmx512m -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -Djava.awt.headless=true -Dlog4j2.configurationFile="$dir/log4j2.yaml" \
    -cp "$libs/*" kafka.Kafka "$dir/server.properties" >>"$log" 2>&1 &
  echo $! >"$pidfile"
  # An open port is not enough: the broker is ready when it says so.
  for _ in $(seq 1 240); do
    if grep -q "Kafka Server started" "$log"; then
      echo "kafka: started (pid $(cat "$pidfile")) on $host:$port, log $log"; return
    fi
    if ! running; then echo "kafka: exited during start; last lines of $log:" >&2; tail -20 "$log" >&2; exit 1; fi
    sleep 0.5
  done
  echo "kafka: not started after 120 s; see $log" >&2
  exit 1
}

stop() {
  if ! running; then echo "kafka: not running"; rm -f "$pidfile"; return; fi
  pid=$(cat "$pidfile")
  kill "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  rm -f "$pidfile"
  echo "kafka: stopped"
}

status() {
  if running; then echo "kafka: running (pid $(cat "$pidfile")) on $host:$port"
  elif listening "$port"; then echo "kafka: an outside broker answers on $host:$port"
  else echo "kafka: not running"; return 1; fi
}

case "${1:-}" in
  start) start ;; stop) stop ;; status) status ;;
  restart) stop; start ;;
  *) echo "usage: $0 start|stop|status|restart" >&2; exit 2 ;;
esac
