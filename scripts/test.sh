#!/usr/bin/env bash
# Install everything Resolver's tests need on a fresh Debian machine, then run them all,
# browser tests included. Exits with pytest's code.
set -euo pipefail
cd "$(dirname "$0")/.."

export PIP_DISABLE_PIP_VERSION_CHECK=1
python -m pip install --quiet -e '.[test]'

if [ ! -x /usr/bin/chromium ]; then
    # The browser tests drive Debian's chromium; Playwright's own browser download is not used.
    SUDO=""
    if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
fi

status=0
python -m pytest "$@" || status=$?
exit "$status"
