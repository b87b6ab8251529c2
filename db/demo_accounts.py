"""Demo accounts: one per role, with passwords printed by ``db.setup`` and listed in the README.

They log in only on the demo database (AppMeta ``demo_database`` = "1"); ``accounts.authenticate``
refuses them anywhere else, so a copied demo account can never open a real installation.
"""

from __future__ import annotations

from sqlmodel import Session

from assessments.access import SYSTEM
from assessments.accounts import account_snapshot, hash_password
from db.audit import record
from db.models import Cluster, UserAccount, UserCluster

# username, password, role, full name; the facilitator gets the first two demo clusters.
DEMO_ACCOUNTS: tuple[tuple[str, str, str, str], ...] = (
    ("admin", "demo-admin", "admin", "Administradora demo"),
    ("manager", "demo-manager", "manager", "Gestor demo"),
    ("facilitator", "demo-facilitator", "facilitator", "Facilitadora demo"),
    ("evaluator", "demo-evaluator", "evaluator", "Evaluador demo"),
)
FACILITATOR_CLUSTERS = 2


def load_demo(session: Session, clusters: list[Cluster]) -> list[UserAccount]:
    users = []
    for username, password, role, full_name in DEMO_ACCOUNTS:
        user = UserAccount(username=username, full_name=full_name, password_hash=hash_password(password),
                           role=role, active=True, is_demo=True)
        session.add(user)
        session.flush()
        assigned = [c.id for c in clusters[:FACILITATOR_CLUSTERS]] if role == "facilitator" else []
        for cluster_id in assigned:
            session.add(UserCluster(user_id=user.id, cluster_id=cluster_id))
        record(session, SYSTEM, "create", "user_account", user.id, after=account_snapshot(user, assigned),
               reason="demo")
        users.append(user)
    session.flush()
    # db.setup runs this step on a first embedded start: the terminal shows how to log in
    print(credentials_text(), flush=True)
    return users


def credentials_text() -> str:
    """The lines db.setup prints after loading the demo (the README lists the same)."""
    lines = ["Demo accounts (demo database only):"]
    lines += [f"  {role:<12} user: {username:<12} password: {password}" for username, password, role, _ in DEMO_ACCOUNTS]
    return "\n".join(lines)
