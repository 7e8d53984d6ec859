#!/usr/bin/env bash
# Run every test of Resolver on a machine that has nothing but Python and Debian's apt: build a fresh
# virtual environment, install the test lock into it (exact versions, checked against their hashes),
# then Resolver itself, install whichever Debian packages are missing, and run the whole suite, browser
# tests included, on SQLite and on a throw-away PostgreSQL server started from the installed binaries,
# side by side (one per core; each prints when it ends). The benchmarks' quick run and the browser tests
# are the SQLite run's. Exits non-zero if either run fails.
#
#   bash scripts/test.sh                 the locked versions (what CI runs)
#   bash scripts/test.sh --latest        the newest versions setup.cfg's ranges allow instead of the lock,
#                                        to see a breaking release before it bites (not part of CI)
#   bash scripts/test.sh -x -k vote      other arguments go to both pytest runs
#
# The environment is made anew each run in .test-venv/ (RESOLVER_TEST_VENV names another folder), so a
# package left over from earlier can never stand in for a missing declaration; pip's download cache is
# reused.
set -euo pipefail
cd "$(dirname "$0")/.."

latest=0
pytest_args=()
for argument in "$@"; do
    if [ "$argument" = "--latest" ]; then latest=1; else pytest_args+=("$argument"); fi
done

. scripts/debian.sh
venv="${RESOLVER_TEST_VENV:-$PWD/.test-venv}"
fresh_venv "$venv"
export PIP_DISABLE_PIP_VERSION_CHECK=1
if [ "$latest" = 1 ]; then
    echo "== Installing the newest versions setup.cfg allows"
    "$venv/bin/python" -m pip install --quiet --upgrade --upgrade-strategy eager -e '.[postgres,production,test]'
    "$venv/bin/python" -m pip freeze --exclude-editable
else
    "$venv/bin/python" -m pip install --quiet --require-hashes -r requirements/test.txt
    "$venv/bin/python" -m pip install --quiet --no-deps --no-build-isolation -e .
fi
export VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH"

# Debian packages: chromium for the browser tests (Playwright's own browser download is not used),
# fonts for readable screenshots and PDFs, Pango and HarfBuzz for WeasyPrint's letter PDFs,
# PostgreSQL's server binaries for the second run, wrk for the vote endpoint's load benchmark.
install_missing "${LETTER_PACKAGES[@]}"
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
# The PostgreSQL package would start a cluster of its own; the tests start their own server.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
if [ "${#missing[@]}" -gt 0 ]; then apt_install "${missing[@]}"; fi

logs="$(mktemp -d)"
# The browser tests run in the SQLite run only (tests/conftest.py says why); the PostgreSQL run has the
# fault tests of several workers on one server instead.
export RESOLVER_TEST_BROWSER_DATABASE="${RESOLVER_TEST_BROWSER_DATABASE:-sqlite}"
# Each run ends with its 25 slowest tests: where the suite's time goes (BENCHMARKS.md "Test suite").
RESOLVER_TEST_DATABASE=postgresql python -m pytest --durations=25 ${pytest_args[@]+"${pytest_args[@]}"} >"$logs/postgresql.log" 2>&1 &
postgresql_run=$!
sqlite_status=0
RESOLVER_TEST_DATABASE=sqlite python -m pytest --durations=25 ${pytest_args[@]+"${pytest_args[@]}"} >"$logs/sqlite.log" 2>&1 || sqlite_status=$?
echo "== The suite on SQLite (exit $sqlite_status)"
cat "$logs/sqlite.log"
postgresql_status=0
wait "$postgresql_run" || postgresql_status=$?
echo "== The suite on PostgreSQL (exit $postgresql_status)"
cat "$logs/postgresql.log"
rm -rf "$logs"
[ "$sqlite_status" = 0 ] && [ "$postgresql_status" = 0 ]
