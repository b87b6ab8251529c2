"""User accounts: the first administrator, users and their clusters, login with lockout, session expiry.

Passwords are hashed with argon2id (argon2-cffi) and never stored, logged or audited in clear; the
audit trail records account changes without the hash. Login takes about the same time whether or
not the username exists (a dummy hash is verified), and five failures within fifteen minutes lock
the account for fifteen minutes (counted from the audit trail, so the lock holds across processes).
Deactivating an account or resetting its password revokes its saved logins (assessments/auth_sessions.py).
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import re
import secrets
import sys
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pandas as pd
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from assessments.access import ROLE_ORDER, SYSTEM, Actor, require
from assessments.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from db.audit import record
from db.engine import read_session
from db.models import AppMeta, AuditEvent, AuthSession, Cluster, UserAccount, UserCluster

MIN_PASSWORD_LENGTH = 8
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,79}$")  # "@": SSO accounts are e-mail addresses
DEMO_KEY = "demo_database"
FIRST_ADMIN_KEY = "first_admin"
# FOCAS_AUTH=off opens the app to the local user, but only while no real account exists.
AUTH_ENV = "FOCAS_AUTH"

_hasher = PasswordHasher()
# Verified when the username is unknown so that a miss costs as much time as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-password-of-anyone")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def account_snapshot(user: UserAccount, cluster_ids: list[uuid.UUID] | None = None) -> dict:
    """What the audit trail keeps of an account: never the password hash."""
    snapshot = {
        "id": str(user.id), "username": user.username, "full_name": user.full_name, "role": user.role,
        "active": user.active, "is_demo": user.is_demo,
    }
    if cluster_ids is not None:
        snapshot["cluster_ids"] = sorted(str(c) for c in cluster_ids)
    return snapshot


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _is_demo_database(session: Session) -> bool:
    return session.execute(sa.select(AppMeta.value).where(AppMeta.key == DEMO_KEY)).scalar() == "1"


def is_demo_account_refused(session: Session, user: UserAccount) -> bool:
    """Demo accounts open only the demo database."""
    return user.is_demo and not _is_demo_database(session)


def revoke_user_sessions(*, session: Session, user_id: uuid.UUID, reason: str, now: datetime | None = None,
                         keep: uuid.UUID | None = None) -> int:
    """Revoke every saved login (browser cookie) of an account but ``keep``; returns how many were still open."""
    now = now or _now()
    where = [AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None)]
    if keep is not None:
        where.append(AuthSession.id != keep)
    result = session.execute(
        sa.update(AuthSession).where(*where)
        .values(revoked_at=now, revoked_reason=reason[:24], updated_at=now)
    )
    return result.rowcount or 0


def _clean_username(username: str | None) -> str:
    name = (username or "").strip().lower()
    if not USERNAME_PATTERN.match(name):
        raise ValidationFailed("access.bad_username")
    return name


def _check_password(password: str | None, username: str) -> str:
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed("access.password_too_short", min=MIN_PASSWORD_LENGTH)
    if password.strip().lower() == username.lower():
        raise ValidationFailed("access.password_is_username")
    return password


def _check_role(role: str | None) -> str:
    if role not in ROLE_ORDER:
        raise ValidationFailed("access.bad_role", role=role)
    return role


def _check_clusters(session: Session, cluster_ids) -> list[uuid.UUID]:
    ids = list(dict.fromkeys(cluster_ids or []))
    if ids:
        found = set(session.execute(sa.select(Cluster.id).where(Cluster.id.in_(ids))).scalars())
        if len(found) != len(ids):
            raise ValidationFailed("access.unknown_cluster")
    return ids


def _cluster_ids_of(session: Session, user_id: uuid.UUID) -> list[uuid.UUID]:
    return list(session.execute(sa.select(UserCluster.cluster_id).where(UserCluster.user_id == user_id)).scalars())


def _set_clusters(session: Session, user: UserAccount, cluster_ids: list[uuid.UUID]) -> None:
    current = set(_cluster_ids_of(session, user.id))
    wanted = set(cluster_ids)
    if current - wanted:
        session.execute(sa.delete(UserCluster).where(UserCluster.user_id == user.id,
                                                     UserCluster.cluster_id.in_(current - wanted)))
    for cluster_id in wanted - current:
        session.add(UserCluster(user_id=user.id, cluster_id=cluster_id))
    session.flush()


def actor_for(session: Session, user: UserAccount) -> Actor:
    """The Actor a logged-in account acts as (facilitators carry their assigned clusters)."""
    return Actor(username=user.username, role=user.role, user_id=user.id,
                 cluster_ids=frozenset(_cluster_ids_of(session, user.id)), full_name=user.full_name)


# ---------------------------------------------------------------------------------------------
# Who may log in, and whether the installation still needs its first administrator


def login_mode() -> str:
    """``"login"`` (accounts exist), ``"first_admin"`` (none yet) or ``"open"`` (FOCAS_AUTH=off).

    Demo accounts count only on the demo database. ``FOCAS_AUTH=off`` in the environment opens the
    app to the local user only while the database holds no real (non-demo) account, so it can never
    open an installation that has users.
    """
    with read_session() as session:
        real = session.execute(
            sa.select(sa.func.count()).select_from(UserAccount).where(UserAccount.is_demo.is_(False))
        ).scalar_one()
        demo = session.execute(
            sa.select(sa.func.count()).select_from(UserAccount)
            .where(UserAccount.is_demo.is_(True), UserAccount.active.is_(True))
        ).scalar_one()
        demo_database = _is_demo_database(session)
    if real == 0 and os.environ.get(AUTH_ENV, "").strip().lower() == "off":
        return "open"
    if real > 0 or (demo > 0 and demo_database):
        return "login"
    return "first_admin"


# The first administrator is created from this machine, or from elsewhere with a one-time setup code that
# only this machine's console shows (a page reached through DNS rebinding or from the network must not
# claim a fresh installation). The code lives in this server process only; it is replaced after
# SETUP_CODE_ATTEMPTS wrong tries and discarded once used.
SETUP_CODE_ATTEMPTS = 5
_SETUP_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off a console and typed
_setup_lock = threading.Lock()
_setup: dict = {"code": None, "misses": 0}


def is_local_client(client_ip: str | None) -> bool:
    """True for a browser on this machine. ``None`` is this machine: Streamlit's ``st.context.ip_address``
    reports loopback clients (and runs without a browser) as ``None``."""
    if client_ip is None:
        return True
    try:
        ip = ipaddress.ip_address(client_ip.strip().strip("[]").split("%")[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return bool(ip.is_loopback or (mapped is not None and mapped.is_loopback))


def _announce_setup_code(code: str, client_ip: str | None) -> None:
    print(f"\n  FOCAS: setup code for the first administrator (asked for from {client_ip}): {code}\n"
          "  Give it only to the person setting up this installation; it works once.\n",
          file=sys.stderr, flush=True)


def first_admin_setup_code(client_ip: str | None = None) -> None:
    """Make sure a one-time setup code exists; a new one is printed on the server's console (never shown
    in the page)."""
    with _setup_lock:
        if _setup["code"] is None:
            _setup["code"] = "-".join("".join(secrets.choice(_SETUP_ALPHABET) for _ in range(4)) for _ in range(3))
            _setup["misses"] = 0
            _announce_setup_code(_setup["code"], client_ip)


def _normal_code(code: str | None) -> str:
    return re.sub(r"[^A-Z0-9]", "", (code or "").upper())


def _check_first_admin_client(client_ip: str | None, setup_code: str | None) -> None:
    if is_local_client(client_ip):
        return
    with _setup_lock:
        expected = _setup["code"]
        if expected and setup_code and hmac.compare_digest(_normal_code(setup_code), _normal_code(expected)):
            return
        if expected and setup_code:
            _setup["misses"] += 1
            if _setup["misses"] >= SETUP_CODE_ATTEMPTS:
                _setup["code"] = None  # the next form shown prints a new one
    raise PermissionDenied("access.first_admin.not_local")


def _consume_setup_code() -> None:
    with _setup_lock:
        _setup["code"] = None
        _setup["misses"] = 0


def create_first_admin(*, session: Session, username: str, password: str, full_name: str = "",
                       client_ip: str | None = None, setup_code: str | None = None) -> Actor:
    """Create the installation's first administrator; refused once any real account exists, and from a
    client that is not this machine (``client_ip``, as ``st.context.ip_address`` gives it) unless it
    brings the one-time ``setup_code`` printed on the server's console."""
    _check_first_admin_client(client_ip, setup_code)
    name = _clean_username(username)
    password = _check_password(password, name)
    real = session.execute(
        sa.select(sa.func.count()).select_from(UserAccount).where(UserAccount.is_demo.is_(False))
    ).scalar_one()
    if real:
        raise Conflict("access.first_admin_exists")
    try:
        # the primary key of this marker lets only one of two simultaneous first-admin forms win
        with session.begin_nested():
            session.add(AppMeta(key=FIRST_ADMIN_KEY, value=name))
            session.flush()
    except IntegrityError:
        raise Conflict("access.first_admin_exists") from None
    user = UserAccount(username=name, full_name=(full_name or "").strip(), password_hash=hash_password(password),
                       role="admin", active=True, is_demo=False)
    session.add(user)
    session.flush()
    new_actor = actor_for(session, user)
    record(session, new_actor, "create", "user_account", user.id, after=account_snapshot(user, []),
           reason="first_admin")
    if not is_local_client(client_ip):
        _consume_setup_code()
    return new_actor


# ---------------------------------------------------------------------------------------------
# Administration of accounts


def create_user(*, session: Session, actor: Actor, username: str, password: str, role: str,
                full_name: str = "", cluster_ids=()) -> UserAccount:
    require(actor, "user.write")
    name = _clean_username(username)
    password = _check_password(password, name)
    role = _check_role(role)
    clusters = _check_clusters(session, cluster_ids) if role == "facilitator" else []
    if session.execute(sa.select(UserAccount.id).where(UserAccount.username == name)).scalar() is not None:
        raise ValidationFailed("access.username_taken", username=name)
    user = UserAccount(username=name, full_name=(full_name or "").strip(), password_hash=hash_password(password),
                       role=role, active=True, is_demo=False)
    session.add(user)
    session.flush()
    _set_clusters(session, user, clusters)
    record(session, actor, "create", "user_account", user.id, after=account_snapshot(user, clusters))
    return user


def _active_admins(session: Session) -> int:
    return session.execute(
        sa.select(sa.func.count()).select_from(UserAccount)
        .where(UserAccount.role == "admin", UserAccount.active.is_(True), UserAccount.is_demo.is_(False))
    ).scalar_one()


def update_user(*, session: Session, actor: Actor, user_id: uuid.UUID, full_name: str | None = None,
                role: str | None = None, active: bool | None = None, cluster_ids=None) -> UserAccount:
    """Change an account's name, role, active flag or (facilitators) assigned clusters."""
    require(actor, "user.write")
    user = session.get(UserAccount, user_id)
    if user is None:
        raise NotFound("access.no_such_user")
    before = account_snapshot(user, _cluster_ids_of(session, user.id))
    new_role = user.role if role is None else _check_role(role)
    new_active = user.active if active is None else bool(active)
    if user.role == "admin" and user.active and not user.is_demo and (new_role != "admin" or not new_active):
        if _active_admins(session) <= 1:
            raise ValidationFailed("access.last_admin")
    if full_name is not None:
        user.full_name = full_name.strip()
    user.role = new_role
    user.active = new_active
    user.updated_at = _now()
    if new_role != "facilitator":
        clusters: list[uuid.UUID] = []
    elif cluster_ids is not None:
        clusters = _check_clusters(session, cluster_ids)
    else:
        clusters = _cluster_ids_of(session, user.id)
    _set_clusters(session, user, clusters)
    session.add(user)
    session.flush()
    if not new_active:
        revoke_user_sessions(session=session, user_id=user.id, reason="deactivated")
    after = account_snapshot(user, clusters)
    if after != before:
        record(session, actor, "update", "user_account", user.id, before=before, after=after)
    return user


def set_password(*, session: Session, actor: Actor, user_id: uuid.UUID, password: str) -> None:
    """An administrator sets a new password (the audit trail notes that it changed, never the value)."""
    require(actor, "user.write")
    user = session.get(UserAccount, user_id)
    if user is None:
        raise NotFound("access.no_such_user")
    user.password_hash = hash_password(_check_password(password, user.username))
    user.updated_at = _now()
    session.add(user)
    # whoever may have known the old password (or holds a cookie from it) is signed out everywhere
    revoke_user_sessions(session=session, user_id=user.id, reason="password_reset")
    record(session, actor, "update", "user_account", user.id, after={"password": "changed"}, reason="password")


def change_own_password(*, session: Session, actor: Actor, current: str, new: str,
                        keep_saved_login: uuid.UUID | None = None) -> None:
    """Any logged-in user changes their own password after proving the current one.

    Every other browser that kept this account logged in is logged out (its saved login revoked);
    the browser that made the change, ``keep_saved_login``, stays logged in.
    """
    user = session.get(UserAccount, actor.user_id) if actor.user_id else None
    if user is None or not user.active:
        raise NotFound("access.no_such_user")
    if not _verify(user.password_hash, current or ""):
        raise ValidationFailed("access.wrong_current_password")
    user.password_hash = hash_password(_check_password(new, user.username))
    user.updated_at = _now()
    session.add(user)
    revoke_user_sessions(session=session, user_id=user.id, reason="own_password", keep=keep_saved_login)
    record(session, actor, "update", "user_account", user.id, after={"password": "changed"}, reason="own_password")


# ---------------------------------------------------------------------------------------------
# Login, logout, expiry


# What a login attempt produced: the actor, or the catalog key of why it was refused.
@dataclass(frozen=True)
class LoginResult:
    actor: Actor | None
    error_key: str | None = None
    params: tuple = ()


def _recent_failures(session: Session, username: str, now: datetime) -> int:
    since = now - LOCKOUT
    # a login resumed from a saved cookie proves no password, so it does not reset the count
    last_success = session.execute(
        sa.select(sa.func.max(AuditEvent.at)).where(
            AuditEvent.action == "login", AuditEvent.actor == username,
            sa.or_(AuditEvent.reason.is_(None), AuditEvent.reason != "resume"))
    ).scalar()
    if last_success is not None:
        if last_success.tzinfo is None:
            last_success = last_success.replace(tzinfo=timezone.utc)
        since = max(since, last_success)
    return session.execute(
        sa.select(sa.func.count()).select_from(AuditEvent)
        .where(AuditEvent.action == "login_failed", AuditEvent.actor == username, AuditEvent.at > since)
    ).scalar_one()


def authenticate(*, session: Session, username: str, password: str, now: datetime | None = None) -> LoginResult:
    """Check a username and password; records the attempt (success or failure) in the audit trail.

    Returns a ``LoginResult`` instead of raising so the caller's transaction commits the failed
    attempt too (that is what the lockout counts).
    """
    now = now or _now()
    name = (username or "").strip().lower()[:64]
    user = session.execute(sa.select(UserAccount).where(UserAccount.username == name)).scalar() if name else None
    password_ok = _verify(user.password_hash if user else None, password or "")
    attempt_actor = Actor(username=name or "?", role=user.role if user else "anonymous")

    def refuse(reason: str, key: str = "access.login_failed", **params) -> LoginResult:
        record(session, attempt_actor, "login_failed", "user_account", user.id if user else None, reason=reason)
        return LoginResult(None, key, tuple(params.items()))

    if user is not None and _recent_failures(session, name, now) >= MAX_FAILED_LOGINS:
        return refuse("locked", "access.locked", minutes=int(LOCKOUT.total_seconds() // 60))
    if user is None:
        return refuse("unknown_user")
    if not password_ok:
        return refuse("wrong_password")
    if not user.active:
        return refuse("inactive")
    if user.is_demo and not _is_demo_database(session):
        return refuse("demo_account_on_real_database")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    session.add(user)
    session.flush()
    actor = actor_for(session, user)
    record(session, actor, "login", "user_account", user.id)
    return LoginResult(actor)


def record_logout(*, session: Session, actor: Actor, reason: str = "logout") -> None:
    record(session, actor, "logout", "user_account", actor.user_id, reason=reason)


def refresh_actor(actor: Actor) -> Actor | None:
    """The actor as the database sees it now (role or clusters changed), or None if deactivated."""
    if actor.user_id is None:
        return actor
    with read_session() as session:
        user = session.get(UserAccount, actor.user_id)
        if user is None or not user.active or is_demo_account_refused(session, user):
            return None
        return actor_for(session, user)


def session_expired(last_seen: datetime | None, now: datetime, timeout_minutes: int) -> bool:
    """Whether a login has been idle longer than the timeout (no activity = expired)."""
    if last_seen is None:
        return True
    return now - last_seen > timedelta(minutes=timeout_minutes)


def login_sso(*, session: Session, email: str | None) -> LoginResult:
    """Single sign-on: the OIDC identity's e-mail must match an active account's username."""
    name = (email or "").strip().lower()
    user = session.execute(sa.select(UserAccount).where(UserAccount.username == name)).scalar() if name else None
    if user is None or not user.active or user.is_demo:
        record(session, Actor(username=name or "?", role="anonymous"), "login_failed", "user_account",
               user.id if user else None, reason="sso_unknown")
        return LoginResult(None, "access.sso_no_account", (("email", name),))
    user.last_login_at = _now()
    session.add(user)
    actor = actor_for(session, user)
    record(session, actor, "login", "user_account", user.id, reason="sso")
    return LoginResult(actor)


# ---------------------------------------------------------------------------------------------
# Reads


def users_table() -> pd.DataFrame:
    """Every account with its role, state and assigned clusters (names joined), for the admin page."""
    with read_session() as session:
        rows = session.execute(
            sa.select(UserAccount.id, UserAccount.username, UserAccount.full_name, UserAccount.role,
                      UserAccount.active, UserAccount.is_demo, UserAccount.last_login_at)
            .order_by(UserAccount.username)
        ).all()
        links = session.execute(
            sa.select(UserCluster.user_id, Cluster.id, Cluster.name)
            .join(Cluster, Cluster.id == UserCluster.cluster_id).order_by(Cluster.name)
        ).all()
    clusters: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = {}
    for user_id, cluster_id, name in links:
        clusters.setdefault(user_id, []).append((cluster_id, name))
    return pd.DataFrame(
        [{"id": r.id, "username": r.username, "full_name": r.full_name, "role": r.role, "active": r.active,
          "is_demo": r.is_demo, "last_login_at": r.last_login_at,
          "cluster_ids": [c for c, _ in clusters.get(r.id, [])],
          "clusters": ", ".join(n for _, n in clusters.get(r.id, []))} for r in rows],
        columns=["id", "username", "full_name", "role", "active", "is_demo", "last_login_at", "cluster_ids",
                 "clusters"],
    )


def cluster_choices() -> list[tuple[uuid.UUID, str]]:
    """Every cluster as (id, "name (department)") for the facilitator assignment picker."""
    with read_session() as session:
        rows = session.execute(sa.select(Cluster.id, Cluster.name, Cluster.department_code)
                               .order_by(Cluster.department_code, Cluster.name)).all()
    return [(r.id, f"{r.name} ({r.department_code})") for r in rows]


__all__ = [
    "LoginResult", "actor_for", "authenticate", "change_own_password", "cluster_choices", "create_first_admin",
    "create_user", "first_admin_setup_code", "hash_password", "is_demo_account_refused", "is_local_client", "login_mode", "login_sso", "record_logout",
    "refresh_actor", "revoke_user_sessions", "session_expired", "set_password", "update_user", "users_table",
    "SYSTEM",
]
