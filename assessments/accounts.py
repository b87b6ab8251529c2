"""User accounts: the first administrator, users and their clusters, login with lockout, session expiry.

Passwords are hashed with argon2id (argon2-cffi) and never stored, logged or audited in clear; the
audit trail records account changes without the hash; zxcvbn refuses common and guessable passwords.
Login does the same work and gives the same answer whether or not the username exists (a dummy hash
is verified). Failures are counted from the audit trail (so limits hold across processes) per account
and client, per client, and per account from new clients; attempts refused by a lock do not extend it,
and an administrator can lift an account's locks (see "Login throttling" below).
Deactivating an account or resetting its password revokes its saved logins (assessments/auth_sessions.py).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import os
import re
import secrets
import sys
import threading
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pandas as pd
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from zxcvbn import zxcvbn

from assessments.access import ROLE_ORDER, SYSTEM, Actor, require
from assessments.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from assessments.text import clean_field
from db.audit import bump_data_version, record
from db.engine import read_session
from db.models import AppMeta, AuditEvent, AuthSession, Cluster, UserAccount, UserCluster

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256
MIN_PASSWORD_SCORE = 3     # zxcvbn: 3 = "safely unguessable" (about 10^8 guesses and more)
ZXCVBN_PREFIX = 100
APP_WORDS = ("focas", "qsip", "peru", "perú", "contraseña", "clave")
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


def _check_password(password: str | None, username: str, full_name: str = "") -> str:
    """Refuse a password that is short, the username, holds control or invisible characters, or that zxcvbn
    (Dropbox's strength estimator, with its lists of leaked passwords, names, words and keyboard patterns)
    scores below ``MIN_PASSWORD_SCORE``: ``12345678``, ``password``, ``qwertyuiop``, all spaces, ``Password1!``."""
    password = password if isinstance(password, str) else ""
    if any(unicodedata.category(ch).startswith("C") for ch in password):
        raise ValidationFailed("login_abuse.password_control")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed("access.password_too_short", min=MIN_PASSWORD_LENGTH)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationFailed("login_abuse.password_too_long", max=MAX_PASSWORD_LENGTH)
    if password.strip().lower() == username.lower():
        raise ValidationFailed("access.password_is_username")
    if password_score(password, username, full_name) < MIN_PASSWORD_SCORE:
        raise ValidationFailed("login_abuse.password_weak")
    return password


def password_score(password: str, username: str = "", full_name: str = "") -> int:
    """zxcvbn's 0-4 score of ``password``, knowing the account's own words (its username and name, the app's
    name) as an attacker would; only the first ``ZXCVBN_PREFIX`` characters are scored (as zxcvbn advises:
    its matching grows fast with length, and so long a password is not guessable anyway)."""
    own_words = [w for w in re.split(r"[\s._@-]+", f"{username} {full_name}".lower()) if len(w) > 1]
    return zxcvbn(password[:ZXCVBN_PREFIX], user_inputs=[username.lower(), *own_words, *APP_WORDS])["score"]


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
    password = _check_password(password, name, full_name)
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
    user = UserAccount(username=name, full_name=clean_field(full_name, "account.full_name"),
                       password_hash=hash_password(password),
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
    password = _check_password(password, name, full_name)
    role = _check_role(role)
    clusters = _check_clusters(session, cluster_ids) if role == "facilitator" else []
    if session.execute(sa.select(UserAccount.id).where(UserAccount.username == name)).scalar() is not None:
        raise ValidationFailed("access.username_taken", username=name)
    user = UserAccount(username=name, full_name=clean_field(full_name, "account.full_name"),
                       password_hash=hash_password(password),
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
        user.full_name = clean_field(full_name, "account.full_name")
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
    user.password_hash = hash_password(_check_password(password, user.username, user.full_name))
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
    user.password_hash = hash_password(_check_password(new, user.username, user.full_name))
    user.updated_at = _now()
    session.add(user)
    revoke_user_sessions(session=session, user_id=user.id, reason="own_password", keep=keep_saved_login)
    record(session, actor, "update", "user_account", user.id, after={"password": "changed"}, reason="own_password")


# ---------------------------------------------------------------------------------------------
# Login, logout, expiry


# What a login attempt produced: the actor, or the catalog key of why it was refused. Every refusal of a
# password login carries the same key (unknown name, wrong password, locked, throttled, inactive).
@dataclass(frozen=True)
class LoginResult:
    actor: Actor | None
    error_key: str | None = None
    params: tuple = ()


# Login throttling. Every password attempt is in the audit trail with the client it came from
# (``client_key``: "local" for this machine, an IPv4 address, an IPv6 /64), so the limits hold across
# processes and restarts; the failures that count are the ones whose password was actually checked:
# an attempt refused because of a lock is recorded but neither counts nor extends the lock.
#   * account + client: MAX_FAILED_LOGINS failures within LOCKOUT lock that account *from that client*
#     for LOCKOUT after the failure that reached the limit; a password login from that client resets it.
#   * client: CLIENT_MAX_FAILURES failures within LOCKOUT (whatever the usernames, known or not) stop
#     that client for LOCKOUT.
#   * account, from everywhere: ACCOUNT_MAX_FAILURES failures within LOCKOUT (a distributed guess) lock the
#     account for LOCKOUT from every client that is neither this machine nor one the account logged in
#     from with its password within FAMILIAR_FOR.
# An unknown username goes through exactly the same steps (a dummy hash is verified, the same queries
# run, it locks the same way), and every refusal shows the same message, so nothing tells a name that
# exists from one that does not. An administrator's ``unlock_user`` clears the account's locks.
MAX_FAILED_LOGINS = 5
CLIENT_MAX_FAILURES = 20
ACCOUNT_MAX_FAILURES = 20
LOCKOUT = timedelta(minutes=15)
FAMILIAR_FOR = timedelta(days=90)
LOCAL_CLIENT = "local"
LOGIN_REFUSED = "access.login_failed"
# reasons of failed attempts whose password was checked (the ones the limits count)
COUNTED_REASONS = ("unknown_user", "wrong_password", "inactive", "demo_account_on_real_database")
_NO_USER_KEY = "-"


def client_key(client_ip: str | None) -> str:
    """What the limits key a client on: "local" for this machine, the IPv4 address, the IPv6 /64 network
    (one household or office holds a whole /64), or the address as given if it does not parse."""
    if is_local_client(client_ip):
        return LOCAL_CLIENT
    text = client_ip.strip().strip("[]").split("%")[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return text[:64] or "?"
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        return str(mapped)
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _client_json(key: str) -> str:
    return json.dumps({"client": key}, ensure_ascii=False)  # as db.audit.record writes ``after``


def _client_of(after_json: str | None) -> str | None:
    try:
        value = json.loads(after_json or "null")
    except ValueError:
        return None
    return value.get("client") if isinstance(value, dict) else None


def _aware(at: datetime | None) -> datetime | None:
    if at is not None and at.tzinfo is None:
        return at.replace(tzinfo=timezone.utc)
    return at


def _lock_end(times, threshold: int) -> datetime | None:
    """When the last lock these failures triggered ends: ``threshold`` failures within LOCKOUT lock for
    LOCKOUT from the one that reached it; a failure while locked (one racing the lock) neither counts nor
    extends it, and after a lock the count starts afresh."""
    end: datetime | None = None
    window: list[datetime] = []
    for at in sorted(times):
        if end is not None and at < end:
            continue
        window = [w for w in window if w > at - LOCKOUT] + [at]
        if len(window) >= threshold:
            end, window = at + LOCKOUT, []
    return end


def _user_key(user: UserAccount | None) -> str:
    return str(user.id) if user is not None else _NO_USER_KEY


def _unlocked_at(session: Session, user_key: str) -> datetime | None:
    return _aware(session.execute(
        sa.select(sa.func.max(AuditEvent.at)).where(
            AuditEvent.action == "unlock", AuditEvent.entity == "user_account", AuditEvent.entity_id == user_key)
    ).scalar())


def _name_failures(session: Session, name: str, since: datetime) -> list[tuple[datetime, str | None]]:
    """(time, client) of the counted failures of ``name`` after ``since``."""
    rows = session.execute(
        sa.select(AuditEvent.at, AuditEvent.after_json).where(
            AuditEvent.action == "login_failed", AuditEvent.actor == name,
            AuditEvent.reason.in_(COUNTED_REASONS), AuditEvent.at > since)
    ).all()
    return [(_aware(at), _client_of(after)) for at, after in rows]


def _password_logins(session: Session, name: str, since: datetime) -> dict[str, datetime]:
    """The last password login of ``name`` after ``since`` from each client (saved-login resumes and SSO
    prove no password and count for nothing here)."""
    rows = session.execute(
        sa.select(AuditEvent.after_json, sa.func.max(AuditEvent.at)).where(
            AuditEvent.action == "login", AuditEvent.actor == name, AuditEvent.reason.is_(None),
            AuditEvent.after_json.is_not(None), AuditEvent.at > since)
        .group_by(AuditEvent.after_json)
    ).all()
    return {key: _aware(at) for after, at in rows if (key := _client_of(after))}


def _client_failures(session: Session, key: str, since: datetime) -> list[datetime]:
    return [_aware(at) for at in session.execute(
        sa.select(AuditEvent.at).where(
            AuditEvent.action == "login_failed", AuditEvent.after_json == _client_json(key),
            AuditEvent.reason.in_(COUNTED_REASONS), AuditEvent.at > since)
    ).scalars()]


def _pair_lock_end(failures, key: str, last_login: datetime | None) -> datetime | None:
    return _lock_end([at for at, client in failures if client == key and (last_login is None or at > last_login)],
                     MAX_FAILED_LOGINS)


def _lock_reason(session: Session, name: str, user: UserAccount | None, key: str, now: datetime) -> str | None:
    """Why ``name`` may not try a password from client ``key`` now (the audit reason), or None. The same
    queries run whether or not the name exists."""
    horizon = now - 3 * LOCKOUT  # a lock in force now began after now - LOCKOUT, its window after now - 2 LOCKOUT
    unlocked = _unlocked_at(session, _user_key(user))
    since = max(horizon, unlocked) if unlocked else horizon
    failures = _name_failures(session, name, since)
    logins = _password_logins(session, name, now - FAMILIAR_FOR)
    client_failures = _client_failures(session, key, horizon)

    def active(end: datetime | None) -> bool:
        return end is not None and end > now

    if active(_pair_lock_end(failures, key, logins.get(key))):
        return "locked"
    if key == LOCAL_CLIENT:
        return None  # this machine: only its own account + client limit above applies
    if key not in logins and active(_lock_end([at for at, _ in failures], ACCOUNT_MAX_FAILURES)):
        return "locked_new_client"
    if active(_lock_end(client_failures, CLIENT_MAX_FAILURES)):
        return "client_throttled"
    return None


def _record_attempt(session: Session, actor: Actor, action: str, user_id, key: str, at: datetime,
                    reason: str | None = None) -> None:
    """A login attempt in the audit trail (as db.audit.record writes it), stamped with the attempt's time."""
    session.add(AuditEvent(at=at, actor=actor.username, actor_role=actor.role, action=action, entity="user_account",
                           entity_id=None if user_id is None else str(user_id), after_json=_client_json(key),
                           reason=reason))
    bump_data_version(session)


def authenticate(*, session: Session, username: str, password: str, now: datetime | None = None,
                 client_ip: str | None = None) -> LoginResult:
    """Check a username and password from ``client_ip`` (as ``st.context.ip_address`` gives it; None is this
    machine); records the attempt (success or failure) with its client in the audit trail.

    Returns a ``LoginResult`` instead of raising so the caller's transaction commits the failed attempt too
    (that is what the limits count). Every refusal carries ``LOGIN_REFUSED``, and an unknown name costs
    the same work as a known one: one argon2 verification, the same queries, one audit row.
    """
    now = now or _now()
    key = client_key(client_ip)
    name = (username or "").strip().lower()[:64]
    user = session.execute(sa.select(UserAccount).where(UserAccount.username == name)).scalar() if name else None
    password_ok = _verify(user.password_hash if user else None, password or "")
    attempt_actor = Actor(username=name or "?", role=user.role if user else "anonymous")
    locked = _lock_reason(session, name or "?", user, key, now)

    def refuse(reason: str) -> LoginResult:
        _record_attempt(session, attempt_actor, "login_failed", user.id if user else None, key, now, reason)
        return LoginResult(None, LOGIN_REFUSED)

    if locked is not None:
        return refuse(locked)
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
    _record_attempt(session, actor, "login", user.id, key, now)
    return LoginResult(actor)


# What an administrator sees of an account's locks, and clears with unlock_user.
@dataclass(frozen=True)
class LoginLocks:
    clients: tuple[tuple[str, datetime], ...] = ()   # (client, until): locked from that client
    new_clients_until: datetime | None = None        # locked from every client it never logged in from

    @property
    def locked(self) -> bool:
        return bool(self.clients) or self.new_clients_until is not None

    @property
    def until(self) -> datetime | None:
        ends = [until for _, until in self.clients] + ([self.new_clients_until] if self.new_clients_until else [])
        return max(ends) if ends else None


def _locks_of(session: Session, user: UserAccount, now: datetime) -> LoginLocks:
    horizon = now - 3 * LOCKOUT
    unlocked = _unlocked_at(session, _user_key(user))
    since = max(horizon, unlocked) if unlocked else horizon
    failures = _name_failures(session, user.username, since)
    if not failures:
        return LoginLocks()
    logins = _password_logins(session, user.username, horizon)
    clients = []
    for key in sorted({client for _, client in failures if client}):
        end = _pair_lock_end(failures, key, logins.get(key))
        if end is not None and end > now:
            clients.append((key, end))
    wide = _lock_end([at for at, _ in failures], ACCOUNT_MAX_FAILURES)
    return LoginLocks(tuple(clients), wide if wide is not None and wide > now else None)


def login_locks(user_id: uuid.UUID, *, now: datetime | None = None) -> LoginLocks:
    """The account's login locks in force now (not cached: they end with time, not with a write)."""
    with read_session() as session:
        user = session.get(UserAccount, user_id)
        return _locks_of(session, user, now or _now()) if user is not None else LoginLocks()


def locked_accounts(*, now: datetime | None = None) -> dict[str, LoginLocks]:
    """Every account locked right now (username → its locks), for the administration page."""
    now = now or _now()
    with read_session() as session:
        names = set(session.execute(
            sa.select(AuditEvent.actor).where(
                AuditEvent.action == "login_failed", AuditEvent.reason.in_(COUNTED_REASONS),
                AuditEvent.at > now - 2 * LOCKOUT).distinct()
        ).scalars())
        users = session.execute(sa.select(UserAccount).where(UserAccount.username.in_(names))).scalars() \
            if names else []
        found = {user.username: _locks_of(session, user, now) for user in users}
    return {name: locks for name, locks in sorted(found.items()) if locks.locked}


def unlock_user(*, session: Session, actor: Actor, user_id: uuid.UUID, now: datetime | None = None) -> LoginLocks:
    """An administrator lifts every login lock of an account (from every client); audited as ``unlock`` with
    the locks it lifted. Failures before it no longer count. Returns the locks that were in force."""
    require(actor, "user.write")
    user = session.get(UserAccount, user_id)
    if user is None:
        raise NotFound("access.no_such_user")
    now = now or _now()
    locks = _locks_of(session, user, now)
    record(session, actor, "unlock", "user_account", user.id, before={
        "username": user.username,
        "locked_from": [{"client": key, "until": until.isoformat()} for key, until in locks.clients],
        "locked_from_new_clients_until": locks.new_clients_until.isoformat() if locks.new_clients_until else None,
    }, reason="unlock")
    return locks


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
    "LoginLocks", "LoginResult", "actor_for", "authenticate", "client_key", "locked_accounts", "login_locks",
    "password_score", "unlock_user", "change_own_password", "cluster_choices", "create_first_admin",
    "create_user", "first_admin_setup_code", "hash_password", "is_demo_account_refused", "is_local_client", "login_mode", "login_sso", "record_logout",
    "refresh_actor", "revoke_user_sessions", "session_expired", "set_password", "update_user", "users_table",
    "SYSTEM",
]
