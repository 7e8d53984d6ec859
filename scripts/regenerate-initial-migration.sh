#!/usr/bin/env bash
# Rebuild the single initial migration from the current models. Only while no database that
# matters has been created from an earlier one: after that, add a new revision instead
# (`alembic revision --autogenerate` through resolver.migrations.alembic_config()).
set -euo pipefail
cd "$(dirname "$0")/.."

rm -f resolver/migrations/versions/0001_*.py
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

RESOLVER_INSTANCE_PATH="$scratch/instance" RESOLVER_DATABASE_URL="sqlite:///$scratch/empty.db" \
python - <<'PY'
from alembic import command

from resolver import create_app
from resolver.extensions import db
from resolver.migrations import alembic_config

app = create_app({"SECRET_KEY": "regenerate"})
with app.app_context(), db.engine.begin() as connection:
    command.revision(
        alembic_config(connection), message="initial schema", autogenerate=True, rev_id="0001"
    )
PY
ls resolver/migrations/versions/0001_*.py
