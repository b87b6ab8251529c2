"""Who is acting and what their role lets them do: the one place every write service asks.

Pages never decide permissions; they pass the acting user to a service, which calls ``require``.
Hiding a button is a courtesy; ``require`` in the service is the rule.

Roles (issue #7):
- ``admin``: everything (accounts, instruments, backups, the audit log).
- ``manager``: every cluster: the cluster registry, selection, the GCD, targets and plans, snapshots.
- ``facilitator``: enters and edits workshop data (FOCAS, plans, QSIP) only in the clusters assigned
  to them; may download.
- ``evaluator``: reads and downloads; writes nothing.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
import weakref
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from assessments.errors import PermissionDenied

log = logging.getLogger(__name__)

ROLE_ORDER = ("admin", "manager", "facilitator", "evaluator")

# Every write action a service can perform, by capability, with the roles allowed to perform it.
# Reading is open to every logged-in role.
WRITE_ACTIONS: dict[str, tuple[str, ...]] = {
    # cluster registry and selection (program level: managers)
    "cluster.write": ("admin", "manager"),
    "selection.write": ("admin", "manager"),
    "gcd.write": ("admin", "manager"),
    # FOCAS workshop data (facilitators only in their assigned clusters)
    "assessment.write": ("admin", "facilitator"),
    "assessment.validate": ("admin", "facilitator"),
    "target.write": ("admin", "manager"),
    "plan.write": ("admin", "manager", "facilitator"),
    "instrument.write": ("admin",),
    # QSIP service audits (facilitators only in their assigned clusters)
    "audit.write": ("admin", "facilitator"),
    "audit.validate": ("admin", "facilitator"),
    # data exchange and administration
    "snapshot.export": ("admin", "manager", "evaluator", "facilitator"),
    "snapshot.import": ("admin", "manager"),
    "user.write": ("admin",),
    "backup.create": ("admin",),
    "auditlog.read": ("admin",),
}
# Roles whose writes are limited to the clusters assigned to them.
CLUSTER_SCOPED_ROLES = ("facilitator",)
# Actions that are not about one cluster's data (downloads): never cluster-scoped.
UNSCOPED_ACTIONS = ("snapshot.export",)


# The acting user, as every service receives it.
@dataclass(frozen=True)
class Actor:
    username: str
    role: str
    user_id: uuid.UUID | None = None
    cluster_ids: frozenset[uuid.UUID] = field(default_factory=frozenset)
    full_name: str = ""


# The single-laptop user: used by tests, scripts and AppTest runs of one page, and by the app only
# when login is switched off (FOCAS_AUTH=off on a database without real accounts, see pages/ui.py).
LOCAL_USER = Actor(username="local", role="admin", full_name="Local user")
# Reference and demo loaders.
SYSTEM = Actor(username="system", role="admin", full_name="System (loaders)")
# Nobody logged in: every write is refused.
ANONYMOUS = Actor(username="anonymous", role="anonymous", full_name="")


def can(actor: Actor, action: str, *, cluster_id: uuid.UUID | None = None) -> bool:
    """Whether ``actor`` may perform ``action`` (on ``cluster_id`` for cluster-scoped roles)."""
    roles = WRITE_ACTIONS.get(action)
    if roles is None:
        raise KeyError(f"unknown action {action!r}")
    if actor.role not in roles:
        return False
    if actor.role in CLUSTER_SCOPED_ROLES and action not in UNSCOPED_ACTIONS:
        return cluster_id is not None and cluster_id in actor.cluster_ids
    return True


def require(actor: Actor, action: str, *, cluster_id: uuid.UUID | None = None, place: str | None = None) -> None:
    """Refuse with a translated message unless ``actor`` may perform ``action``; the refusal is audited.

    A role that may do this, only not here (a facilitator outside the clusters assigned to them), is told
    that the government or cluster is not theirs: ``place`` names it when the service knows it, else the
    cluster's name is looked up. Any other refusal says the role does not allow the action.
    """
    if can(actor, action, cluster_id=cluster_id):
        return
    if _outside_clusters(actor, action):
        name = place or _cluster_name(cluster_id)
        if name:
            error = PermissionDenied("qsip_lock.refused.not_your_cluster", action=action, role=actor.role, place=name)
        else:
            error = PermissionDenied("qsip_lock.refused.not_your_cluster_unnamed", action=action, role=actor.role)
        why = "other_cluster"
    else:
        error = PermissionDenied("access.denied", action=action, role=actor.role)
        why = "role"
    note_refusal(actor, action, cluster_id=cluster_id, why=why)
    raise error


def _outside_clusters(actor: Actor, action: str) -> bool:
    """The role may perform ``action``, only not in that cluster (or with no cluster named)."""
    return (actor.role in WRITE_ACTIONS.get(action, ()) and actor.role in CLUSTER_SCOPED_ROLES
            and action not in UNSCOPED_ACTIONS)


def can_write_anything(actor: Actor) -> bool:
    """Whether any write action is open to this actor (pages hide edit controls otherwise)."""
    return any(actor.role in roles for action, roles in WRITE_ACTIONS.items() if action not in UNSCOPED_ACTIONS)


# ---------------------------------------------------------------------------------------------- refusals
# A refused attempt is written to the audit log (action "refused") in a transaction of its own, after the
# refused unit of work has ended (so nothing of that work is written, and SQLite's write lock, which the
# refused unit may hold, is free). Rate-limited, so probing cannot flood the log: at most one row per
# actor + action + cluster per minute, and at most REFUSALS_PER_ACTOR_PER_MINUTE rows per actor.
REFUSAL_WINDOW_SECONDS = 60.0
REFUSALS_PER_ACTOR_PER_MINUTE = 10
_clock = time.monotonic
_limits_lock = threading.Lock()
_last_by_key: dict[tuple, float] = {}
_by_actor: dict[tuple, deque] = {}
_local = threading.local()
_listening = False


def _database_url() -> str | None:
    """The configured database, or None when it is an embedded file that does not exist (never create one)."""
    from db.config import load_settings

    url = load_settings().database_url
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if not path or path == ":memory:" or not Path(path).exists():
            return None
    return url


def _cluster_name(cluster_id: uuid.UUID | None) -> str | None:
    if cluster_id is None:
        return None
    try:
        if _database_url() is None:
            return None
        from db.engine import read_session
        from db.models import Cluster

        with read_session() as session:
            cluster = session.get(Cluster, cluster_id if isinstance(cluster_id, uuid.UUID) else uuid.UUID(str(cluster_id)))
            return cluster.name if cluster is not None else None
    except Exception:  # a refusal message never fails for want of a name
        log.debug("cluster name lookup failed", exc_info=True)
        return None


def _admit(url: str, actor: Actor, action: str, cluster_id: object) -> bool:
    """The in-process rate limit (the database check in :func:`_write_refusals` holds across processes)."""
    now = _clock()
    key = (url, actor.username, action, str(cluster_id))
    with _limits_lock:
        last = _last_by_key.get(key)
        if last is not None and now - last < REFUSAL_WINDOW_SECONDS:
            return False
        recent = _by_actor.setdefault((url, actor.username), deque())
        while recent and now - recent[0] >= REFUSAL_WINDOW_SECONDS:
            recent.popleft()
        if len(recent) >= REFUSALS_PER_ACTOR_PER_MINUTE:
            return False
        recent.append(now)
        _last_by_key[key] = now
        if len(_last_by_key) > 10_000:  # forget old keys (a long-running server)
            for old in [k for k, t in _last_by_key.items() if now - t >= REFUSAL_WINDOW_SECONDS]:
                _last_by_key.pop(old, None)
    return True


def note_refusal(actor: Actor, action: str, *, cluster_id: object = None, why: str = "role") -> None:
    """Record a refused attempt: now, or when this thread's open unit of work has ended."""
    try:
        url = _database_url()
        if url is None or not _admit(url, actor, action, cluster_id):
            return
        _listen()
        pending = _local.__dict__.setdefault("pending", [])
        pending.append({"url": url, "actor": actor, "action": action,
                        "cluster_id": None if cluster_id is None else str(cluster_id), "why": why})
        if not _open_sessions():
            flush_refusals()
    except Exception:  # recording a refusal must never hide the refusal itself
        log.warning("could not record a refused attempt", exc_info=True)


def _open_sessions() -> list:
    sessions = _local.__dict__.setdefault("sessions", weakref.WeakSet())
    return [s for s in list(sessions) if s.in_transaction()]


def _listen() -> None:
    """Follow this thread's sessions: refusals wait until none of them holds a transaction."""
    global _listening
    if _listening:
        return
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    @event.listens_for(Session, "after_begin")
    def _began(session, transaction, connection):  # noqa: ARG001
        _local.__dict__.setdefault("sessions", weakref.WeakSet()).add(session)

    @event.listens_for(Session, "after_transaction_end")
    def _ended(session, transaction):
        if transaction.parent is not None or getattr(_local, "flushing", False):
            return
        if getattr(_local, "pending", None) and not _open_sessions():
            flush_refusals()

    _listening = True


def flush_refusals() -> None:
    """Write the refusals this thread noted (each database in one short transaction of its own)."""
    pending = getattr(_local, "pending", None)
    if not pending or getattr(_local, "flushing", False):
        return
    _local.pending = []
    _local.flushing = True
    try:
        by_url: dict[str, list[dict]] = {}
        for item in pending:
            by_url.setdefault(item["url"], []).append(item)
        for url, items in by_url.items():
            try:
                _write_refusals(url, items)
            except Exception:
                log.warning("could not record %d refused attempt(s)", len(items), exc_info=True)
    finally:
        _local.flushing = False


def _write_refusals(url: str, items: list[dict]) -> None:
    import sqlalchemy as sa

    from db.audit import record
    from db.config import load_settings
    from db.engine import write_session
    from db.models import AuditEvent
    from db.models.base import utcnow

    if load_settings().database_url != url:  # the configuration changed meanwhile (tests switching databases)
        return
    from datetime import timedelta

    with write_session() as session:
        since = utcnow() - timedelta(seconds=REFUSAL_WINDOW_SECONDS)
        for item in items:
            actor: Actor = item["actor"]
            recent = sa.select(sa.func.count()).select_from(AuditEvent).where(
                AuditEvent.action == "refused", AuditEvent.actor == actor.username, AuditEvent.at >= since)
            if session.execute(recent).scalar_one() >= REFUSALS_PER_ACTOR_PER_MINUTE:
                continue
            same = session.execute(recent.where(
                AuditEvent.reason == item["action"],
                AuditEvent.entity_id.is_(None) if item["cluster_id"] is None
                else AuditEvent.entity_id == item["cluster_id"])).scalar_one()
            if same:
                continue
            record(session, actor, "refused", "access", item["cluster_id"], reason=item["action"],
                   after={"attempted": item["action"], "cluster_id": item["cluster_id"], "why": item["why"]})
            session.flush()
