#!/usr/bin/env bash
# A PostgreSQL server of Ferry's own on this machine, for the tests and for trying
# FERRY_STORE=postgres://… on one host: Debian's PostgreSQL binaries, a cluster in a folder of its
# own, listening on a loopback port only (no system service, no container).
#
#   deploy/postgres-local.sh start <dir> [port]   makes the cluster the first time, starts it,
#                                                 prints its URL (a superuser named ferry)
#   deploy/postgres-local.sh stop <dir>           stops it (the folder stays)
#
# PG_BIN overrides where the binaries are; PG_FAST=1 turns fsync off (tests: they never crash the
# server's host, and a killed db daemon is what they recover from).
set -euo pipefail
cmd=${1:?usage: postgres-local.sh start|stop <dir> [port]}
dir=${2:?usage: postgres-local.sh start|stop <dir> [port]}
port=${3:-55432}
bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$bin/pg_ctl" ] || { echo "no PostgreSQL binaries in '$bin' (apt-get install postgresql)" >&2; exit 1; }

# PostgreSQL refuses to run as root: as root, the cluster belongs to the postgres user.
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case $cmd in
start)
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir" && chmod 700 "$dir"
  if [ ! -f "$dir/PG_VERSION" ]; then
    as_owner "$bin/initdb" -D "$dir" -U ferry -A trust -E UTF8 --locale=C --no-sync >/dev/null
  fi
  opts="-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=300"
  [ "${PG_FAST:-0}" = 1 ] && opts="$opts -c fsync=off -c full_page_writes=off"
  as_owner "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -o "$opts" -w -t 60 start >/dev/null
  echo "postgres://ferry@127.0.0.1:$port/postgres"
  ;;
stop)
  [ -f "$dir/postmaster.pid" ] || exit 0
  as_owner "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null
  ;;
*)
  echo "usage: postgres-local.sh start|stop <dir> [port]" >&2
  exit 2
  ;;
esac
