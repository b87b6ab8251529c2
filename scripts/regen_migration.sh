#!/usr/bin/env bash
# Regenerate the initial revision 0001 from the models (only while nothing has been released).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
rm -f db/migrations/versions/0001_*.py
DATABASE_URL="sqlite:///$tmp/empty.db" .venv/bin/alembic revision --autogenerate --rev-id 0001 -m "initial schema" >/dev/null
rm -rf "$tmp"
ls db/migrations/versions/
