#!/usr/bin/env bash
# Run Resolver on this machine with the demo company, from nothing but Python and Debian's apt: make the
# virtual environment .venv/ if there is none, install the run lock's exact versions into it (checked
# against their hashes) and this checkout's Resolver, install WeasyPrint's libraries if they are
# missing, then create or upgrade the SQLite database in instance/ (RESOLVER_INSTANCE_PATH names another
# folder), fill in the demo company (it prints how to sign in) and start the web app, the worker and the
# local mail catcher. Arguments go to `resolver serve`, e.g. `bash scripts/run.sh --port 8000`; the links in
# every email, the demo's included, point at the address serve runs on (RESOLVER_PUBLIC_BASE_URL wins).
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/debian.sh
venv="${RESOLVER_VENV:-$PWD/.venv}"
[ -x "$venv/bin/python" ] || fresh_venv "$venv"
export PIP_DISABLE_PIP_VERSION_CHECK=1
"$venv/bin/python" -m pip install --quiet --require-hashes -r requirements/run.txt
"$venv/bin/python" -m pip install --quiet --no-deps --force-reinstall .
export RESOLVER_INSTANCE_PATH="${RESOLVER_INSTANCE_PATH:-$PWD/instance}"
install_missing "${LETTER_PACKAGES[@]}"

"$venv/bin/resolver" init
"$venv/bin/resolver" demo
exec "$venv/bin/resolver" serve "$@"
