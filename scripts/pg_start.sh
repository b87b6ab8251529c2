#!/usr/bin/env bash
# Start a throwaway PostgreSQL server on 127.0.0.1:${PGPORT:-55432} and print its DATABASE_URL.
# initdb and pg_ctl refuse root, so the data folder belongs to the postgres user.
set -euo pipefail
port=${PGPORT:-55432}
dir=${PGDIR:-/tmp/focas-pg-$port}
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if ! as_pg "$bindir/pg_isready" -h 127.0.0.1 -p "$port" >/dev/null 2>&1; then
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  if [ ! -f "$dir/PG_VERSION" ]; then
    as_pg "$bindir/initdb" -D "$dir" -U app --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  as_pg "$bindir/pg_ctl" -D "$dir" -w -l "$dir/server.log" \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=300 -c fsync=off" start >/dev/null
fi
echo "postgresql+psycopg://app@127.0.0.1:$port/postgres"
