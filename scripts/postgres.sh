#!/usr/bin/env bash
# Make a PostgreSQL server reachable for the test suite and print its SQLAlchemy URL on stdout.
#
#   scripts/postgres.sh          # reuse MLCONTEXT_TEST_POSTGRES if it answers, else start our own
#   scripts/postgres.sh stop     # stop the server this script started
#
# Our own server: Debian's `postgresql` package (installed with apt-get when missing), a cluster in
# $PGROOT (default /tmp/mlcontext-pg), listening on 127.0.0.1:$PGPORT (default 54329), trust auth.
# Exit status 1 (and nothing on stdout) when no server could be had; the reason goes to stderr.
set -euo pipefail

PGROOT=${PGROOT:-/tmp/mlcontext-pg}
PGPORT=${PGPORT:-54329}
URL="postgresql+psycopg://postgres@127.0.0.1:${PGPORT}/postgres"
log() { echo "postgres.sh: $*" >&2; }

find_bin() {
  local name=$1 candidate
  candidate=$(command -v "$name" 2>/dev/null || true)
  [ -z "$candidate" ] && candidate=$(ls -1 /usr/lib/postgresql/*/bin/"$name" 2>/dev/null | sort -V | tail -n 1 || true)
  echo "$candidate"
}

as_postgres() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

if [ "${1:-}" = stop ]; then
  pg_ctl=$(find_bin pg_ctl)
  [ -n "$pg_ctl" ] && [ -d "$PGROOT/data" ] && as_postgres "$pg_ctl" -D "$PGROOT/data" -m fast stop >&2 || true
  exit 0
fi

if [ -n "${MLCONTEXT_TEST_POSTGRES:-}" ]; then
  echo "$MLCONTEXT_TEST_POSTGRES"
  exit 0
fi

initdb=$(find_bin initdb)
if [ -z "$initdb" ]; then
  if [ "$(id -u)" != 0 ]; then
    log "PostgreSQL is not installed and we are not root to install it (apt-get install postgresql)"
    exit 1
  fi
  log "installing Debian's postgresql package"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq postgresql; } >&2 || { log "apt-get install postgresql failed"; exit 1; }
  initdb=$(find_bin initdb)
fi
bindir=$(dirname "$(readlink -f "$initdb")")
pg_ctl="$bindir/pg_ctl"
pg_isready="$bindir/pg_isready"

if "$pg_isready" -q -h 127.0.0.1 -p "$PGPORT"; then
  echo "$URL"
  exit 0
fi

if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
  useradd --system --home-dir "$PGROOT" --shell /bin/bash postgres
fi
mkdir -p "$PGROOT"
[ "$(id -u)" = 0 ] && chown postgres "$PGROOT"
if [ ! -f "$PGROOT/data/PG_VERSION" ]; then
  as_postgres "$initdb" -D "$PGROOT/data" -U postgres --auth=trust --encoding=UTF8 --no-sync >&2
fi
as_postgres "$pg_ctl" -D "$PGROOT/data" -l "$PGROOT/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $PGROOT -c fsync=off -c max_connections=200" start >&2 \
  || { log "server did not start; see $PGROOT/server.log"; tail -n 20 "$PGROOT/server.log" >&2 || true; exit 1; }
echo "$URL"
