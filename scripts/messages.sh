#!/usr/bin/env bash
# Refresh briefgen's message catalogues: extract the messages of the templates and the code into
# templates/locales/briefgen.pot, merge them into every language's .po, and compile the .mo files.
#   bash scripts/messages.sh            extract, update every .po, compile
#   bash scripts/messages.sh init LANG  start a new language (e.g. ro, pt_PT) from the template
# Uses Babel's own command line (pybabel); see docs/languages.md.
set -euo pipefail
cd "$(dirname "$0")/.."
PYBABEL=${PYBABEL:-.venv/bin/pybabel}
LOCALES=templates/locales
"$PYBABEL" -q extract -F babel.cfg -k pgettext:1c,2 -k npgettext:1c,2,3 --no-location --sort-output \
  --project briefgen --copyright-holder "briefgen authors" --omit-header -o "$LOCALES/briefgen.pot" .
if [ "${1:-}" = init ]; then
  "$PYBABEL" init -D briefgen -i "$LOCALES/briefgen.pot" -d "$LOCALES" -l "$2"
fi
"$PYBABEL" -q update -D briefgen -i "$LOCALES/briefgen.pot" -d "$LOCALES" --no-fuzzy-matching --ignore-obsolete
"$PYBABEL" compile -D briefgen -d "$LOCALES" --statistics
