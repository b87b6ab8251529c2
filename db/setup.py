"""Bring a database to the latest migration and load reference data (and, once, the demo data).

``python -m db.setup`` is what ``make run`` calls before starting the app; it is idempotent.
"""

from __future__ import annotations

import argparse
import sys

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from db.audit import DATA_VERSION_KEY
from db.config import ROOT, load_settings
from db.engine import get_engine, read_session, run_write
from db.instruments import load_default_instruments
from db.models import AppMeta
from db.reference import load_registry

INITIALIZED_KEY = "initialized"
DEMO_KEY = "demo_database"


def upgrade_to_head() -> None:
    config = Config(str(ROOT / "alembic.ini"))
    with get_engine().begin() as connection:
        if connection.dialect.name == "postgresql":
            # a migration may rewrite a large table: the app's statement timeout is not for it
            connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def load_reference_data() -> None:
    def load(session) -> None:
        load_registry(session)
        load_default_instruments(session)
        from db.plan import load_default_plan

        load_default_plan(session)
        # seed the data-version row so concurrent first writers only ever UPDATE it
        if session.get(AppMeta, DATA_VERSION_KEY) is None:
            session.add(AppMeta(key=DATA_VERSION_KEY, value="0"))

    run_write(load)  # one transaction, tried again after a transient conflict (another process starting)


def meta_value(key: str) -> str | None:
    with read_session() as session:
        return session.execute(sa.select(AppMeta.value).where(AppMeta.key == key)).scalar()


def is_demo_database() -> bool:
    return meta_value(DEMO_KEY) == "1"


def prepare(*, demo: bool | None = None, quiet: bool = False) -> dict[str, bool]:
    """Migrate, load reference data, and load the demo on the first start of an empty embedded database."""
    upgrade_to_head()
    load_reference_data()
    first_start = meta_value(INITIALIZED_KEY) is None
    want_demo = load_settings().is_sqlite if demo is None else demo
    demo_loaded = False
    if first_start and want_demo:
        from db.demo import load_demo

        load_demo()
        demo_loaded = True
    if first_start:
        def mark(session) -> None:
            session.merge(AppMeta(key=INITIALIZED_KEY, value="1"))
            if demo_loaded:
                session.merge(AppMeta(key=DEMO_KEY, value="1"))

        run_write(mark)
    if not quiet:
        print(f"database ready: {load_settings().database_url.split('@')[-1]}"
              f" (first start: {first_start}, demo loaded: {demo_loaded})")
    return {"first_start": first_start, "demo_loaded": demo_loaded}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-demo", action="store_true", help="never load the demo data")
    parser.add_argument("--demo", action="store_true", help="load the demo data even on PostgreSQL")
    args = parser.parse_args(argv)
    prepare(demo=False if args.no_demo else (True if args.demo else None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
