#!/usr/bin/env bash
# The whole suite on SQLite, then again on PostgreSQL when one answers.
#   TEST_DATABASE_URL  PostgreSQL server to create throw-away test databases on
#                      (default postgresql://postgres@127.0.0.1:5432/test)
#   REQUIRE_POSTGRES=1 fail instead of skipping when PostgreSQL does not answer (CI sets it)
#   PYTEST_ARGS        extra pytest arguments (default: -n 2 -q)
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export TEST_DATABASE_URL=${TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test}
read -r -a ARGS <<< "${PYTEST_ARGS:--n 2 -q -p no:cacheprovider}"

run_pytest() {
  "$BIN/pytest" "${ARGS[@]}" "$@"
  local rc=$?
  if [ $rc -eq 5 ]; then echo "pytest collected no tests" >&2; fi
  return $rc
}

echo "== test suite on SQLite"
TEST_DB=sqlite run_pytest || exit $?

if "$BIN/python" - <<'PY'
import os, sys
import psycopg
url = os.environ["TEST_DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
try:
    psycopg.connect(url, connect_timeout=3).close()
except Exception as exc:
    print(f"PostgreSQL not reachable at {url}: {exc}", file=sys.stderr)
    sys.exit(1)
PY
then
  echo "== test suite on PostgreSQL ($TEST_DATABASE_URL)"
  TEST_DB=postgresql run_pytest || exit $?
  echo "postgresql-pass: ran"
else
  if [ "${REQUIRE_POSTGRES:-0}" = "1" ]; then
    echo "PostgreSQL is required (REQUIRE_POSTGRES=1) but did not answer" >&2
    exit 1
  fi
  echo "== PostgreSQL not reachable: skipped the PostgreSQL pass"
fi
