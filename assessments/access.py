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

import uuid
from dataclasses import dataclass, field

from assessments.errors import PermissionDenied

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


def require(actor: Actor, action: str, *, cluster_id: uuid.UUID | None = None) -> None:
    """Refuse with a translated message unless ``actor`` may perform ``action``."""
    if not can(actor, action, cluster_id=cluster_id):
        raise PermissionDenied("access.denied", action=action, role=actor.role)


def can_write_anything(actor: Actor) -> bool:
    """Whether any write action is open to this actor (pages hide edit controls otherwise)."""
    return any(actor.role in roles for action, roles in WRITE_ACTIONS.items() if action not in UNSCOPED_ACTIONS)
