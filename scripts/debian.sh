# Sourced by scripts/run.sh and scripts/test.sh: install Debian packages that are missing.

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
apt_updated=0

# apt_install PACKAGE...: install the packages, updating the package lists once per run.
apt_install() {
    if [ "$apt_updated" = 0 ]; then $SUDO apt-get update -qq; apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

# install_missing PACKAGE...: install those of the packages dpkg does not know as installed.
install_missing() {
    local missing=() package
    for package in "$@"; do
        dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
    done
    if [ "${#missing[@]}" -gt 0 ]; then apt_install "${missing[@]}"; fi
}

# fresh_venv FOLDER: a new, empty virtual environment there (Debian's Python makes one only with its
# python3-venv package).
fresh_venv() {
    local python="${PYTHON:-python3}"
    "$python" -c "import ensurepip" 2>/dev/null || apt_install python3-venv
    rm -rf "$1"
    "$python" -m venv "$1"
}

# WeasyPrint draws the letter PDFs with Pango and HarfBuzz; the fonts make them (and screenshots) readable.
LETTER_PACKAGES=(fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0)
