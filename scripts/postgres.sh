#!/usr/bin/env bash
# Local PostgreSQL from Debian's packages: a private cluster under .local/postgres/.
#   scripts/postgres.sh start|stop|status
# Skipped when DATABASE_URL already answers. Installs Debian's `postgresql` when absent.
# Idempotent: `start` on a running cluster reports it and returns.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/.local/postgres"
# The server runs as the postgres user, which must be able to reach its data directory. A clone
# in a folder only root may enter (mktemp -d makes such folders) cannot hold it: then the cluster
# lives under /var/tmp, named after this clone's path, so start, stop and status still agree.
place() {
  mkdir -p "$root/.local"
  if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1 && ! runuser -u postgres -- test -x "$root/.local"; then
    dir="/var/tmp/paypipe-postgres-$(printf %s "$root" | cksum | cut -d' ' -f1)"
  fi
  data="$dir/data"
  log="$dir/server.log"
}
place
url=${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/paypipe}
port=$(python3 -c 'import sys, urllib.parse as u; print(u.urlsplit(sys.argv[1]).port or 5432)' "$url")
dbname=$(python3 -c 'import sys, urllib.parse as u; print(u.urlsplit(sys.argv[1]).path.lstrip("/") or "paypipe")' "$url")

bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  [ -n "$d" ] && echo "$d"
}

install_server() {
  [ -n "$(bindir)" ] && return
  echo "postgres: installing Debian's postgresql package"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
  # Debian's package starts its own cluster on 5432; ours takes that port.
  if command -v pg_ctlcluster >/dev/null; then
    for c in /etc/postgresql/*/main; do
      [ -d "$c" ] && pg_ctlcluster "$(basename "$(dirname "$c")")" main stop 2>/dev/null || true
    done
  fi
}

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

answers() { python3 - "$url" <<'PY' 2>/dev/null
import sys, socket, urllib.parse as u
p = u.urlsplit(sys.argv[1])
socket.create_connection((p.hostname or "127.0.0.1", p.port or 5432), timeout=1).close()
PY
}

running() { [ -f "$data/postmaster.pid" ] && as_postgres "$(bindir)/pg_ctl" -D "$data" status >/dev/null 2>&1; }

start() {
  install_server
  place  # the postgres user may exist only now
  local bin; bin=$(bindir)
  if [ -d "$data" ] && running; then echo "postgres: already running on 127.0.0.1:$port"; ensure_db; return; fi
  if answers; then echo "postgres: something already answers at $url; using it"; ensure_db; return; fi
  mkdir -p "$dir"
  if [ ! -f "$data/PG_VERSION" ]; then
    mkdir -p "$data"
    [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$dir"
    as_postgres "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  fi
  [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$dir"
  # A socket directory we own: /var/run/postgresql may not exist without the Debian cluster.
  as_postgres "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 \
    -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir -c max_connections=200 -c fsync=on" \
    start >/dev/null
  echo "postgres: started on 127.0.0.1:$port, log $log"
  ensure_db
}

ensure_db() {
  local bin; bin=$(bindir)
  if ! "$bin/psql" "postgresql://postgres@127.0.0.1:$port/postgres" -tAc \
      "SELECT 1 FROM pg_database WHERE datname = '$dbname'" | grep -q 1; then
    "$bin/psql" "postgresql://postgres@127.0.0.1:$port/postgres" -qc "CREATE DATABASE \"$dbname\"" && \
      echo "postgres: created database $dbname"
  fi
}

stop() {
  if [ -z "$(bindir)" ] || [ ! -d "$data" ] || ! running; then echo "postgres: not running"; return; fi
  as_postgres "$(bindir)/pg_ctl" -D "$data" -m fast -w stop >/dev/null
  echo "postgres: stopped"
}

status() {
  if [ -n "$(bindir)" ] && [ -d "$data" ] && running; then echo "postgres: running on 127.0.0.1:$port"
  elif answers; then echo "postgres: an outside server answers at $url"
  else echo "postgres: not running"; return 1; fi
}

case "${1:-}" in
  start) start ;; stop) stop ;; status) status ;;
  restart) stop; start ;;
  *) echo "usage: $0 start|stop|status|restart" >&2; exit 2 ;;
esac
