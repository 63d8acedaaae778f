#!/usr/bin/env bash
# Regenerates the initial schema revision from the models. Only for use before the first
# production deployment; after that, every schema change is a new revision.
set -euo pipefail
cd "$(dirname "$0")/.."
# One regeneration at a time (several people share this working tree).
exec 9>/tmp/posyandu-migrations.lock
flock 9
tmp=$(mktemp -d)
rm -f migrations/versions/*_0001_initial_schema.py
mkdir -p "$tmp/later" && mv migrations/versions/*.py "$tmp/later/" 2>/dev/null || true
trap 'mv "$tmp"/later/*.py migrations/versions/ 2>/dev/null || true; rm -rf "$tmp"' EXIT
FLASK_APP=posyandu POSYANDU_INSTANCE_PATH="$tmp" DATABASE_URL="sqlite:///$tmp/regen.db" \
  .venv/bin/flask db upgrade 0000 >/dev/null 2>&1 || true
FLASK_APP=posyandu POSYANDU_INSTANCE_PATH="$tmp" DATABASE_URL="sqlite:///$tmp/regen.db" \
  .venv/bin/flask db migrate -m "initial schema" --rev-id 0001
# Seed rows and data migrations live in later, hand-written revisions (0002 …).
