#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster on loopback for the tests and prints its URL.
#   scripts/pg-throwaway.sh start [DIR] [PORT]   → prints postgres://…  (idempotent)
#   scripts/pg-throwaway.sh stop  [DIR]
# The cluster runs as an unprivileged user (initdb refuses root): the current user when it is not
# root, else `postgres` when the Debian package created it, else a `saelpg` user made here.
# Made for tests: fsync off. PG_DURABLE=1 at its first start keeps fsync and full-page writes on
# (commits still asynchronous, as SQLite's WAL with synchronous=NORMAL): the benchmarks' setting.
set -euo pipefail
cmd=${1:-start}
dir=${2:-/tmp/sael-pg}
port=${3:-54329}
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bindir" ] || { echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }
if [ "$(id -u)" = 0 ]; then
  if id postgres >/dev/null 2>&1; then user=postgres; else
    id saelpg >/dev/null 2>&1 || useradd --system --no-create-home saelpg
    user=saelpg
  fi
  run() { runuser -u "$user" -- "$@"; }
else
  user=$(id -un)
  run() { "$@"; }
fi
case "$cmd" in
  start)
    if [ ! -f "$dir/PG_VERSION" ]; then
      mkdir -p "$dir"; chown "$user" "$dir"; chmod 700 "$dir"
      run "$bindir/initdb" -D "$dir" -U sael --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
      cat >> "$dir/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 300
synchronous_commit = off
shared_buffers = 128MB
CONF
      if [ "${PG_DURABLE:-0}" != 1 ]; then printf 'fsync = off\nfull_page_writes = off\n' >> "$dir/postgresql.conf"; fi
    fi
    if ! run "$bindir/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
      run "$bindir/pg_ctl" -D "$dir" -l "$dir/server.log" -w start >/dev/null
    fi
    echo "postgres://sael@127.0.0.1:$port/postgres"
    ;;
  stop)
    run "$bindir/pg_ctl" -D "$dir" -m fast stop >/dev/null 2>&1 || true
    ;;
  *) echo "usage: $0 start|stop [DIR] [PORT]" >&2; exit 2 ;;
esac
