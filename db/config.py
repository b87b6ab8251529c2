"""Settings in one place: the environment first, then .streamlit/secrets.toml, then the embedded default."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECRETS_FILE = ROOT / ".streamlit" / "secrets.toml"
DEFAULT_SQLITE_PATH = ROOT / "data" / "focas.db"
PLACEHOLDER_MARKERS = ("CHANGE_ME", "changeme", "<password>")


def _secrets() -> dict:
    if SECRETS_FILE.exists():
        with SECRETS_FILE.open("rb") as handle:
            return tomllib.load(handle)
    return {}


@dataclass(frozen=True)
class Settings:
    database_url: str
    session_timeout_minutes: int
    max_upload_mb: int

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def normalise_url(url: str) -> str:
    """Route plain ``postgresql://`` URLs through psycopg 3, the only PostgreSQL driver we ship."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def load_settings() -> Settings:
    """Read the settings now (cheap; called per unit of work so tests can switch databases)."""
    secrets = _secrets()
    url = os.environ.get("DATABASE_URL") or secrets.get("DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE_PATH}"
    if any(marker in url for marker in PLACEHOLDER_MARKERS):
        raise RuntimeError("DATABASE_URL still holds a placeholder from secrets.toml.example")
    return Settings(
        database_url=normalise_url(url),
        session_timeout_minutes=int(
            os.environ.get("SESSION_TIMEOUT_MINUTES") or secrets.get("SESSION_TIMEOUT_MINUTES", 60)
        ),
        max_upload_mb=int(os.environ.get("MAX_UPLOAD_MB") or secrets.get("MAX_UPLOAD_MB", 50)),
    )
