#!/usr/bin/env bash
# Bring every language's catalog up to date with the words marked in Resolver's code and templates,
# then compile them (README: "Adding a language").
#
#   bash scripts/translations.sh            extract, update each messages.po, compile each messages.mo
#   bash scripts/translations.sh new fr     start the catalog of a new language (then run it again)
#
# Run it inside Resolver's virtual environment (pybabel comes with Babel). New words arrive in each
# messages.po untranslated; tests/test_translations.py fails until every one is translated.
set -euo pipefail
cd "$(dirname "$0")/.."
catalogs=resolver/translations
extract() {
    pybabel -q extract -F "$1" -k _l -k lazy_gettext --no-location --omit-header --sort-output -o "$2" .
}
extract babel.cfg "$catalogs/messages.pot"         # what residents read: translated in every catalog
extract babel-staff.cfg "$catalogs/staff.pot"      # staff, panel and Mailbox pages: English for now
if [ "${1:-}" = "new" ]; then
    pybabel -q init -i "$catalogs/messages.pot" -d "$catalogs" -l "$2"
    exit 0
fi
pybabel -q update -i "$catalogs/messages.pot" -d "$catalogs" --no-fuzzy-matching \
    --ignore-obsolete
# The extraction's time stamp would make every run a change, and every two branches a conflict.
sed -i '/^"POT-Creation-Date: /d' "$catalogs"/*/LC_MESSAGES/messages.po
pybabel compile --statistics -d "$catalogs"
