#!/usr/bin/env bash
# Restore a dump made by deploy/backup.sh into a database.
#
#   deploy/restore.sh DUMP_FILE TARGET_DATABASE_URL [--replace]
#
# The target should be a new, empty database (createdb -O posyandu posyandu_restored): check
# it, then point DATABASE_URL at it (or rename databases) and restart the services. With
# --replace an existing PosyanduGo database is overwritten (its tables dropped first): stop
# posyandu-api, the reminder worker and the timers before doing that.
# Everything runs in one transaction: on any error nothing is changed.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 DUMP_FILE TARGET_DATABASE_URL [--replace]" >&2
  exit 2
fi
dump=$1
url=${2/#postgresql+psycopg:/postgresql:}
url=${url/#postgres:/postgresql:}
replace=${3:-}

pg_restore --list "$dump" > /dev/null
tables=$(psql --no-psqlrc --quiet --tuples-only --no-align --dbname="$url" \
  -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
if [ "$tables" != "0" ] && [ "$replace" != "--replace" ]; then
  echo "the target database has $tables tables; restore into an empty database, or pass --replace" >&2
  exit 1
fi
clean=()
if [ "$replace" = "--replace" ]; then
  clean=(--clean --if-exists)
fi
pg_restore --no-owner --no-privileges --exit-on-error --single-transaction "${clean[@]}" \
  --dbname="$url" "$dump"
echo "restored $dump"
