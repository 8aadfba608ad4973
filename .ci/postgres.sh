#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests (Debian's package; installed only when missing).
#   eval "$(.ci/postgres.sh start)"   # prints: export SUPERVISOR_TEST_POSTGRES_URL=postgresql://...
#   .ci/postgres.sh stop
# Idempotent: a running cluster is reused. fsync is off: test data is disposable, and it keeps the tests fast.
set -euo pipefail
DIR=${SUPERVISOR_TEST_PG_DIR:-/tmp/edu-supervisor-pg}
PORT=${SUPERVISOR_TEST_PG_PORT:-55432}

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "${1:-start}" in
  start)
    if [ -z "$(pg_bin)" ] || [ ! -x "$(pg_bin)/initdb" ]; then
      echo "installing postgresql (apt-get)" >&2
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2
    fi
    BIN=$(pg_bin)
    if [ ! -f "$DIR/data/PG_VERSION" ]; then
      rm -rf "$DIR" && mkdir -p "$DIR"
      [ "$(id -u)" = 0 ] && chown postgres "$DIR"
      as_postgres "$BIN/initdb" -D "$DIR/data" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null
    fi
    if ! as_postgres "$BIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1; then
      as_postgres "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
        -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off" start >&2
    fi
    echo "export SUPERVISOR_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:$PORT/postgres"
    ;;
  stop)
    BIN=$(pg_bin)
    if [ -n "$BIN" ] && [ -f "$DIR/data/PG_VERSION" ]; then
      as_postgres "$BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >&2 || true
    fi
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 1 ;;
esac
