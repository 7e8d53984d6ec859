#!/usr/bin/env bash
# Install everything Resolver's tests need on a fresh Debian machine, then run them all, browser
# tests included: the whole suite on SQLite and the whole suite on a throw-away PostgreSQL server
# started from the installed binaries, side by side (one per core; each prints when it ends). The
# benchmarks' quick run is one of the SQLite run's tests. Arguments go to both pytest runs, e.g.
# `bash scripts/test.sh -x -k vote`. Exits non-zero if either run fails.
set -euo pipefail
cd "$(dirname "$0")/.."

export PIP_DISABLE_PIP_VERSION_CHECK=1
python -m pip install --quiet -e '.[test]'

# Debian packages: chromium for the browser tests (Playwright's own browser download is not used),
# fonts for readable screenshots and PDFs, Pango and HarfBuzz for WeasyPrint's letter PDFs,
# PostgreSQL's server binaries for the second run, wrk for the vote endpoint's load benchmark.
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
for package in fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    SUDO=""
    if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    # The PostgreSQL package would start a cluster of its own; the tests start their own server.
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

logs="$(mktemp -d)"
RESOLVER_TEST_DATABASE=postgresql python -m pytest "$@" >"$logs/postgresql.log" 2>&1 &
postgresql_run=$!
sqlite_status=0
RESOLVER_TEST_DATABASE=sqlite python -m pytest "$@" >"$logs/sqlite.log" 2>&1 || sqlite_status=$?
echo "== The suite on SQLite (exit $sqlite_status)"
cat "$logs/sqlite.log"
postgresql_status=0
wait "$postgresql_run" || postgresql_status=$?
echo "== The suite on PostgreSQL (exit $postgresql_status)"
cat "$logs/postgresql.log"
rm -rf "$logs"
[ "$sqlite_status" = 0 ] && [ "$postgresql_status" = 0 ]
