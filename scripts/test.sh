#!/usr/bin/env bash
# Install everything Resolver's tests need on a fresh Debian machine, then run them all,
# browser tests included. Exits with pytest's code.
set -euo pipefail
cd "$(dirname "$0")/.."

export PIP_DISABLE_PIP_VERSION_CHECK=1
python -m pip install --quiet -e '.[test]'

# Debian packages: chromium for the browser tests (Playwright's own browser download is not used),
# fonts for readable screenshots and PDFs, Pango and HarfBuzz for WeasyPrint's letter PDFs.
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
for package in fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    SUDO=""
    if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

status=0
python -m pytest "$@" || status=$?
exit "$status"
