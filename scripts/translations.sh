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
pybabel -q extract -F babel.cfg -k _l -k lazy_gettext --no-location --omit-header --sort-output \
    -o "$catalogs/messages.pot" .
if [ "${1:-}" = "new" ]; then
    pybabel -q init -i "$catalogs/messages.pot" -d "$catalogs" -l "$2"
    exit 0
fi
pybabel -q update -i "$catalogs/messages.pot" -d "$catalogs" --no-fuzzy-matching \
    --ignore-obsolete
pybabel compile --statistics -d "$catalogs"
