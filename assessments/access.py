"""Who is acting and what their role lets them do: the one place every write service asks.

Pages never decide permissions; they pass the acting user to a service, which calls ``require``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from assessments.errors import PermissionDenied

# Every write action a service can perform, by capability. Read access is open to every role.
WRITE_ACTIONS: dict[str, tuple[str, ...]] = {
    # cluster registry and selection
    "cluster.write": ("admin", "manager"),
    "selection.write": ("admin", "manager"),
    "gcd.write": ("admin", "manager"),
    # FOCAS workshop data (facilitators only in their assigned clusters)
    "assessment.write": ("admin", "manager", "facilitator"),
    "assessment.validate": ("admin", "manager", "facilitator"),
    "target.write": ("admin", "manager"),
    "plan.write": ("admin", "manager", "facilitator"),
    "instrument.write": ("admin",),
    # QSIP (facilitators only in their assigned clusters)
    "audit.write": ("admin", "manager", "facilitator"),
    "audit.validate": ("admin", "manager", "facilitator"),
    # data exchange and administration
    "snapshot.export": ("admin", "manager", "evaluator", "facilitator"),
    "snapshot.import": ("admin", "manager"),
    "user.write": ("admin",),
    "backup.create": ("admin",),
    "auditlog.read": ("admin",),
}
CLUSTER_SCOPED_ROLES = ("facilitator",)


# The acting user, as every service receives it.
@dataclass(frozen=True)
class Actor:
    username: str
    role: str
    user_id: uuid.UUID | None = None
    cluster_ids: frozenset[uuid.UUID] = field(default_factory=frozenset)
    full_name: str = ""


# Until an account logs in (or on a single-laptop installation before accounts exist), the local user.
LOCAL_USER = Actor(username="local", role="admin", full_name="Local user")
SYSTEM = Actor(username="system", role="admin", full_name="System (loaders)")


def can(actor: Actor, action: str, *, cluster_id: uuid.UUID | None = None) -> bool:
    roles = WRITE_ACTIONS.get(action)
    if roles is None:
        raise KeyError(f"unknown action {action!r}")
    if actor.role not in roles:
        return False
    if actor.role in CLUSTER_SCOPED_ROLES and action not in ("snapshot.export",):
        return cluster_id is not None and cluster_id in actor.cluster_ids
    return True


def require(actor: Actor, action: str, *, cluster_id: uuid.UUID | None = None) -> None:
    """Refuse with a translated message unless ``actor`` may perform ``action``."""
    if not can(actor, action, cluster_id=cluster_id):
        raise PermissionDenied("access.denied", action=action, role=actor.role)
