"""Who reads what (issue 13.2): the cluster scope and the personal-data rule every read query applies.

- **Cluster scope.** Administrators, managers and evaluators read every cluster; a facilitator reads
  the workshops (FOCAS assessments), participants and QSIP audits of the clusters assigned to them
  (``Actor.cluster_ids``), by the same rule the write services apply: an assessment is theirs when it
  was started in one of their clusters or its government is a member of one. Anyone else reads nothing.
  Program-level aggregates (Avance, Portafolio) are not scoped (``db/queries/progress.py``).
- **Names.** Participants' full names and the codes typed for participants and respondents are
  personal data. Administrators and managers read them and may export them (each export audited);
  a facilitator reads them on screen for the workshops of their own clusters (they type them), and an
  export of them by a facilitator is audited too; evaluators never get them: every person is shown
  and exported under a stable pseudonymous code instead, everything else (sex, indigenous identity,
  role, locality, scores, ratings) intact.
- **Pseudonyms.** ``P-`` (participant), ``R-`` (respondent) or ``G-`` (GCD member) followed by the first
  12 hexadecimal digits of HMAC-SHA256(secret, "<kind>:<uuid>"). The secret is 32 random bytes made
  once per installation and kept in the database (``app_meta``, key ``pseudonym_secret``; never in a
  snapshot), so a person has the same code in every export of this installation and nobody without
  the database can turn a code back into a record.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Iterable

import sqlalchemy as sa

from assessments.access import CLUSTER_SCOPED_ROLES, ROLE_ORDER, Actor
from assessments.errors import PermissionDenied
from db.models import AppMeta, Assessment, ClusterMember, ServiceAudit

NAME_ROLES = ("admin", "manager")  # names on screen and in any export (exports audited)
WORKSHOP_NAME_ROLES = ("admin", "manager", "facilitator")  # names on screen (facilitators: their clusters)
SECRET_KEY = "pseudonym_secret"
PSEUDONYM_PREFIX = {"participant": "P-", "respondent": "R-", "gcd_member": "G-"}
PSEUDONYM_DIGITS = 12
_secrets: dict[str, bytes] = {}


class NotInYourClusters(PermissionDenied):
    """A facilitator asked for a workshop, audit or government outside the clusters assigned to them."""

    def __init__(self, what: str = "workshop") -> None:
        super().__init__(f"read_scope.not_in_your_clusters.{what}")


def _refused(actor: Actor, what: str, cluster_id: object = None) -> NotInYourClusters:
    """The refusal, recorded in the audit log like refused writes (rate-limited, after the read's transaction)."""
    from assessments.access import note_refusal

    note_refusal(actor, f"read.{what}", cluster_id=cluster_id, why="cluster")
    return NotInYourClusters(what)


# --- cluster scope ----------------------------------------------------------------------------


def readable_clusters(actor: Actor) -> frozenset[uuid.UUID] | None:
    """The clusters ``actor`` reads: None means every cluster; an empty set, none."""
    if actor.role in CLUSTER_SCOPED_ROLES:
        return frozenset(actor.cluster_ids)
    if actor.role in ROLE_ORDER:
        return None
    return frozenset()


def _ids(clusters: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    return sorted(clusters, key=str)


def cluster_condition(actor: Actor, column) -> sa.ColumnElement | None:
    """A WHERE clause keeping rows whose ``column`` (a cluster id) ``actor`` reads; None: no limit."""
    clusters = readable_clusters(actor)
    if clusters is None:
        return None
    return column.in_(_ids(clusters)) if clusters else sa.false()


def _members(clusters: frozenset[uuid.UUID]):
    return sa.select(ClusterMember.government_id).where(ClusterMember.cluster_id.in_(_ids(clusters)))


def government_condition(actor: Actor, column) -> sa.ColumnElement | None:
    """Rows whose ``column`` (a government id) is a member of a cluster ``actor`` reads; None: no limit."""
    clusters = readable_clusters(actor)
    if clusters is None:
        return None
    return column.in_(_members(clusters)) if clusters else sa.false()


def assessment_condition(actor: Actor) -> sa.ColumnElement | None:
    """Assessments ``actor`` reads: started in one of their clusters or of a member government (as writes)."""
    clusters = readable_clusters(actor)
    if clusters is None:
        return None
    if not clusters:
        return sa.false()
    return sa.or_(Assessment.cluster_id.in_(_ids(clusters)), Assessment.government_id.in_(_members(clusters)))


def audit_condition(actor: Actor) -> sa.ColumnElement | None:
    """QSIP audits ``actor`` reads (their cluster is one of the actor's)."""
    return cluster_condition(actor, ServiceAudit.cluster_id)


def where(query, condition: sa.ColumnElement | None):
    return query if condition is None else query.where(condition)


def require_cluster(actor: Actor, cluster_id: uuid.UUID | None) -> None:
    clusters = readable_clusters(actor)
    if clusters is not None and cluster_id not in clusters:
        raise _refused(actor, "cluster", cluster_id)


def require_government(session, actor: Actor, government_id: uuid.UUID) -> None:
    condition = government_condition(actor, ClusterMember.government_id)
    if condition is None:
        return
    found = session.execute(
        sa.select(ClusterMember.government_id).where(ClusterMember.government_id == government_id, condition).limit(1)
    ).first()
    if found is None:
        raise _refused(actor, "government")


def require_assessment(session, actor: Actor, assessment_id: uuid.UUID) -> None:
    """Refuse (translated, "not in your clusters") an assessment outside ``actor``'s clusters.

    An id that does not exist passes: the caller answers "not found" as before.
    """
    condition = assessment_condition(actor)
    if condition is None:
        return
    exists = session.execute(sa.select(Assessment.id).where(Assessment.id == assessment_id)).first()
    if exists is None:
        return
    if session.execute(sa.select(Assessment.id).where(Assessment.id == assessment_id, condition)).first() is None:
        raise _refused(actor, "workshop")


def require_audit(session, actor: Actor, audit_id: uuid.UUID) -> None:
    """Refuse a QSIP audit outside ``actor``'s clusters (an unknown id passes, as above)."""
    clusters = readable_clusters(actor)
    if clusters is None:
        return
    cluster_id = session.execute(sa.select(ServiceAudit.cluster_id).where(ServiceAudit.id == audit_id)).scalar()
    if cluster_id is not None and cluster_id not in clusters:
        raise _refused(actor, "audit", cluster_id)


# --- names and pseudonyms ---------------------------------------------------------------------


def sees_names(actor: Actor) -> bool:
    """Whether ``actor`` reads people's names and typed codes on screen (facilitators: their own clusters)."""
    return actor.role in WORKSHOP_NAME_ROLES


def exports_names(actor: Actor) -> bool:
    """Whether a snapshot made by ``actor`` may carry names (administrators and managers only)."""
    return actor.role in NAME_ROLES


def pseudonym_secret(session=None) -> bytes:
    """This installation's pseudonym secret, made (32 random bytes, in ``app_meta``) the first time it is needed."""
    from db.config import load_settings

    url = load_settings().database_url
    if url in _secrets:
        return _secrets[url]
    from db.engine import read_session, write_session

    def stored(s) -> str | None:
        return s.execute(sa.select(AppMeta.value).where(AppMeta.key == SECRET_KEY)).scalar()

    if session is not None:
        value = stored(session)
    else:
        with read_session() as s:
            value = stored(s)
    if value is None:
        try:
            with write_session() as s:
                value = stored(s)
                if value is None:
                    value = secrets.token_hex(32)
                    s.add(AppMeta(key=SECRET_KEY, value=value))
        except sa.exc.IntegrityError:  # another process made it first
            with read_session() as s:
                value = stored(s)
    _secrets[url] = bytes.fromhex(value)
    return _secrets[url]


def pseudonym(secret: bytes, kind: str, record_id: object) -> str:
    """The stable pseudonymous code of one person (``kind``: participant, respondent, gcd_member)."""
    if record_id is None or record_id == "":
        return ""
    digest = hmac.new(secret, f"{kind}:{record_id}".encode(), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX[kind] + digest[:PSEUDONYM_DIGITS].upper()
