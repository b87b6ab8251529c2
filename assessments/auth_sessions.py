"""Saved logins: the random token a browser keeps in a cookie so a reload or a server restart keeps it signed in.

The browser holds ``secrets.token_urlsafe(32)``; the database holds only its SHA-256 (``auth_session``),
so a copy of the database (a backup, a snapshot of a laptop) cannot be turned into a login. A token
resumes a login only while it is unrevoked, younger than ``ABSOLUTE_LIFETIME`` and used within the
inactivity timeout, and only for an account that is still active; the actor is rebuilt from the
database each time, so role and cluster changes apply. Logout, expiry, deactivation and password
resets revoke tokens. A resumed login is audited once per resumed browser session as ``login`` with
reason ``resume`` (never the token); it does not reset the failed-password lockout.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlmodel import Session

from assessments.access import Actor
from assessments.accounts import actor_for, is_demo_account_refused, revoke_user_sessions
from db.audit import record
from db.engine import read_session
from db.models import AuthSession, UserAccount

COOKIE_NAME = "focas_session"
# A login lasts at most one long workshop day, however active.
ABSOLUTE_LIFETIME = timedelta(hours=12)
# last_seen_at is written at most this often (a write per script run would queue behind workshop saves).
TOUCH_EVERY = timedelta(seconds=60)
USER_AGENT_LENGTH = 200
# What secrets.token_urlsafe(32) produces: 43 URL-safe base64 characters.
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")
RESUME_REASON = "resume"

__all__ = [
    "ABSOLUTE_LIFETIME", "COOKIE_NAME", "IssuedSession", "Resumed", "SessionState", "TOUCH_EVERY", "hash_token",
    "issue", "resume", "revoke", "revoke_user_sessions", "state", "touch",
]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def hash_token(token: str) -> str:
    """The SHA-256 (hex) the database keeps instead of the token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# A freshly issued saved login: the token goes to the browser's cookie, the id stays in the server session.
@dataclass(frozen=True)
class IssuedSession:
    id: uuid.UUID
    token: str


def issue(*, session: Session, account: Actor, user_agent: str | None = None,
          now: datetime | None = None) -> IssuedSession:
    """Issue a saved login for an account that has just proved who it is (password, SSO, first admin).

    Not a write of its own: it is called inside the login's transaction, and that login (or the first
    administrator's creation) is what the audit trail records; the token never reaches the trail.
    """
    actor = account
    if actor.user_id is None:
        raise ValueError("only an account can have a saved login")
    now = now or _now()
    token = secrets.token_urlsafe(32)
    row = AuthSession(user_id=actor.user_id, token_hash=hash_token(token), created_at=now, updated_at=now,
                      last_seen_at=now, expires_at=now + ABSOLUTE_LIFETIME,
                      user_agent=(user_agent or "")[:USER_AGENT_LENGTH] or None)
    session.add(row)
    session.flush()
    return IssuedSession(row.id, token)


# What a token presented by a new browser session led to: the actor, or why it was refused.
@dataclass(frozen=True)
class Resumed:
    actor: Actor | None
    session_id: uuid.UUID | None = None
    refused: str | None = None  # "unknown", "revoked", "expired", "inactive"


def _expired(row: AuthSession, now: datetime, timeout_minutes: int) -> bool:
    return now >= row.expires_at or now - row.last_seen_at > timedelta(minutes=timeout_minutes)


def resume(*, session: Session, token: str | None, timeout_minutes: int, now: datetime | None = None) -> Resumed:
    """Sign a new browser session in from its cookie's token, or say why not.

    An expired token, or one of a deactivated account, is revoked on the way so it is never tried again.
    Unknown and tampered tokens are refused without an audit event (nobody can be named).
    """
    now = now or _now()
    if not token or not TOKEN_PATTERN.match(token):
        return Resumed(None, refused="unknown")
    row = session.execute(sa.select(AuthSession).where(AuthSession.token_hash == hash_token(token))).scalar()
    if row is None:
        return Resumed(None, refused="unknown")
    if row.revoked_at is not None:
        return Resumed(None, row.id, "revoked")
    if _expired(row, now, timeout_minutes):
        _revoke_row(session, row, "expired", now)
        return Resumed(None, row.id, "expired")
    user = session.get(UserAccount, row.user_id)
    if user is None or not user.active or is_demo_account_refused(session, user):
        _revoke_row(session, row, "inactive", now)
        return Resumed(None, row.id, "inactive")
    row.last_seen_at = now
    session.add(row)
    session.flush()
    actor = actor_for(session, user)
    record(session, actor, "login", "user_account", user.id, reason=RESUME_REASON)
    return Resumed(actor, row.id)


# Whether a signed-in browser session's saved login still holds, and when it was last written as seen.
@dataclass(frozen=True)
class SessionState:
    valid: bool
    last_seen_at: datetime | None = None
    revoked_reason: str | None = None


def state(session_id: uuid.UUID, *, now: datetime | None = None) -> SessionState:
    """Read the saved login behind a signed-in browser session (checked on every script run).

    Revoked elsewhere (logout in another tab, a password reset, deactivation) or past its absolute
    lifetime means the live session ends too. Inactivity of a live session is the gate's own check.
    """
    now = now or _now()
    with read_session() as session:
        row = session.get(AuthSession, session_id)
        if row is None:
            return SessionState(False, revoked_reason="unknown")
        if row.revoked_at is not None:
            return SessionState(False, row.last_seen_at, row.revoked_reason)
        if now >= row.expires_at:
            return SessionState(False, row.last_seen_at, "expired")
        return SessionState(True, row.last_seen_at)


def touch(*, session: Session, session_id: uuid.UUID, now: datetime | None = None) -> datetime:
    """Write that the saved login was used now (the inactivity timeout counts from here)."""
    now = now or _now()
    session.execute(sa.update(AuthSession).where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
                    .values(last_seen_at=now, updated_at=now))
    return now


def _revoke_row(session: Session, row: AuthSession, reason: str, now: datetime) -> None:
    row.revoked_at = now
    row.revoked_reason = reason[:24]
    row.updated_at = now
    session.add(row)
    session.flush()


def revoke(*, session: Session, session_id: uuid.UUID | None, reason: str, now: datetime | None = None) -> None:
    """Revoke one saved login (logout, expiry); revoking an unknown or revoked one does nothing."""
    if session_id is None:
        return
    row = session.get(AuthSession, session_id)
    if row is not None and row.revoked_at is None:
        _revoke_row(session, row, reason, now or _now())
