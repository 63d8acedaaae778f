#!/usr/bin/env bash
# Back up the PosyanduGo database: one compressed custom-format pg_dump per run, checked
# readable (pg_restore --list), kept BACKUP_KEEP_DAYS days.
#
#   DATABASE_URL      postgresql://user[:password]@host[:port]/db (the app's setting; the
#                     SQLAlchemy form postgresql+psycopg:// is accepted too)
#   BACKUP_DIR        where dumps go (default /var/backups/posyandu)
#   BACKUP_KEEP_DAYS  delete dumps older than this many days (default 14; 0 keeps all)
#
# Prints the path of the new dump. Restore with deploy/restore.sh. Copy the directory off the
# machine too (rsync, object storage): a backup on the same disk is not a backup.
set -euo pipefail
: "${DATABASE_URL:?DATABASE_URL is not set}"
backup_dir=${BACKUP_DIR:-/var/backups/posyandu}
keep_days=${BACKUP_KEEP_DAYS:-14}
url=${DATABASE_URL/#postgresql+psycopg:/postgresql:}
url=${url/#postgres:/postgresql:}

umask 077
mkdir -p "$backup_dir"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
final="$backup_dir/posyandu-$stamp.dump"
partial="$final.partial"
trap 'rm -f "$partial"' EXIT

pg_dump --format=custom --compress=6 --no-owner --no-privileges --file="$partial" --dbname="$url"
pg_restore --list "$partial" > /dev/null   # a truncated or corrupt archive fails here
mv "$partial" "$final"
trap - EXIT

if [ "$keep_days" -gt 0 ]; then
  find "$backup_dir" -maxdepth 1 -name 'posyandu-*.dump' -mtime +"$keep_days" -delete
fi
echo "$final"
