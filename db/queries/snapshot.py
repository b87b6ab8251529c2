"""Read queries behind CSV snapshots: tidy analyst tables and raw per-model tables, streamed in chunks."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlmodel import Session, SQLModel

from db import models as m
from db.queries import scope as read_scope

CHUNK_ROWS = 1000
ROUND_ORDER = sa.case((m.Assessment.round == "baseline", 0), (m.Assessment.round == "midpoint", 1), else_=2)

# Tables a laptop's data merges through, parents before children. Accounts (password hashes), the
# audit log and installation facts never leave the installation.
RAW_TABLE_NAMES = (
    "government", "instrument", "functional_area", "indicator", "level_descriptor", "stage_template",
    "feedback_dimension", "feedback_item", "cluster_plan", "cluster", "cluster_sector", "cluster_member",
    "assessment", "participant", "participant_score", "consensus_score", "performance_target",
    "capacity_plan_item", "service_audit", "audit_stage", "respondent", "feedback_rating", "barrier",
    "improvement_action", "selection_record", "selection_criterion", "selection_candidate", "selection_score",
    "gcd_member", "gcd_meeting", "gcd_attendance",
)


def raw_tables() -> list[sa.Table]:
    """The merge tables in an order where every parent comes before its children."""
    order = {table.name: i for i, table in enumerate(SQLModel.metadata.sorted_tables)}
    tables = [SQLModel.metadata.tables[name] for name in RAW_TABLE_NAMES]
    return sorted(tables, key=lambda table: order[table.name])


@dataclass(frozen=True)
class Filters:
    """What an export is limited to (None = everything).

    ``clusters`` is the reading scope of whoever exports (``scope.readable_clusters``: None = every
    cluster; a facilitator's own clusters otherwise); it is not a choice, so the manifest lists it apart.
    """

    department_code: str | None = None
    cluster_id: uuid.UUID | None = None
    round: str | None = None
    clusters: frozenset[uuid.UUID] | None = None

    def is_empty(self) -> bool:
        return (self.department_code is None and self.cluster_id is None and self.round is None
                and self.clusters is None)

    def as_dict(self) -> dict[str, str | None]:
        return {"department": self.department_code,
                "cluster": None if self.cluster_id is None else str(self.cluster_id), "round": self.round}


# A tidy table: its file name, its columns and a function streaming its rows as tuples.
@dataclass(frozen=True)
class TidyTable:
    name: str
    columns: tuple[str, ...]
    numeric: frozenset[str] = field(default_factory=frozenset)


ASSESSMENT_CONTEXT = (
    "department_code", "department", "ubigeo", "government", "level", "province_code", "cluster", "cluster_wave",
    "sectors", "round", "instrument_code", "instrument_version", "assessment_id", "assessment_status",
    "workshop_date",
)
GOVERNMENT_CONTEXT = ("department_code", "department", "ubigeo", "government", "level", "province_code", "clusters")
AUDIT_CONTEXT = (
    "department_code", "department", "cluster", "cluster_wave", "sectors", "audit_id", "service_name", "sector",
    "cycle_year", "instrument_code", "instrument_version",
)

TIDY_TABLES: dict[str, TidyTable] = {t.name: t for t in (
    TidyTable("consensus_scores", (*ASSESSMENT_CONTEXT, "area_code", "indicator_code", "score", "evidence"),
              frozenset({"cluster_wave", "instrument_version", "score"})),
    TidyTable("participant_scores", (*ASSESSMENT_CONTEXT, "participant_id", "participant_code", "sex", "indigenous",
                                     "participant_role", "area_code", "indicator_code", "score"),
              frozenset({"cluster_wave", "instrument_version", "score"})),
    TidyTable("area_indexes", (*ASSESSMENT_CONTEXT, "area_code", "area_score", "area_pct", "n_indicators"),
              frozenset({"cluster_wave", "instrument_version", "area_score", "area_pct", "n_indicators"})),
    TidyTable("government_indexes", (*ASSESSMENT_CONTEXT, "capacity_index", "capacity_pct", "n_areas"),
              frozenset({"cluster_wave", "instrument_version", "capacity_index", "capacity_pct", "n_areas"})),
    TidyTable("targets", (*GOVERNMENT_CONTEXT, "target_id", "round", "area_code", "target"), frozenset({"target"})),
    TidyTable("capacity_plan_items", (*GOVERNMENT_CONTEXT, "item_id", "area_code", "intervention_type", "what",
                                      "who_staff", "where_place", "sequence", "resources", "other_support",
                                      "planned_start", "planned_end", "status"), frozenset({"sequence"})),
    TidyTable("qsip_stages", (*AUDIT_CONTEXT, "stage_number", "stage_name_es", "stage_name_en", "planned_start",
                              "planned_end", "actual_start", "actual_end", "status"),
              frozenset({"cluster_wave", "cycle_year", "instrument_version", "stage_number"})),
    TidyTable("qsip_feedback", (*AUDIT_CONTEXT, "respondent_id", "respondent_code", "respondent_type", "sex",
                                "indigenous", "locality", "dimension", "item_code", "rating"),
              frozenset({"cluster_wave", "cycle_year", "instrument_version", "rating"})),
    TidyTable("qsip_barriers", (*AUDIT_CONTEXT, "barrier_id", "description", "category", "government_level",
                                "within_control", "priority"),
              frozenset({"cluster_wave", "cycle_year", "instrument_version"})),
    TidyTable("qsip_actions", (*AUDIT_CONTEXT, "action_id", "barrier_id", "description", "responsible_ubigeo",
                               "responsible_government", "deadline", "status", "quick_win", "evidence",
                               "completed_on"),
              frozenset({"cluster_wave", "cycle_year", "instrument_version"})),
    TidyTable("selection_scores", ("department_code", "department", "wave", "scope", "province_code", "record_id",
                                   "candidate_ubigeo", "candidate_name", "chosen", "criterion_code",
                                   "criterion_name_es", "criterion_name_en", "weight", "score", "evidence"),
              frozenset({"wave", "weight", "score"})),
    TidyTable("gcd_members", ("department_code", "department", "period", "member_id", "full_name", "institution",
                              "organisation", "cluster", "sex", "indigenous", "accredited_on"), frozenset()),
    TidyTable("gcd_meetings", ("department_code", "department", "period", "meeting_id", "kind", "meeting_date",
                               "agenda", "agreements", "next_agenda", "n_attended"), frozenset({"n_attended"})),
    TidyTable("gcd_attendance", ("department_code", "department", "period", "meeting_id", "kind", "meeting_date",
                                 "member_id", "full_name", "institution", "sex", "indigenous"), frozenset()),
)}
WIDE_COLUMNS = ("department_code", "department", "ubigeo", "government", "level", "area_code",
                "area_score_baseline", "area_score_midpoint", "area_score_end", "target_midpoint", "target_end")
WIDE_NUMERIC = frozenset(WIDE_COLUMNS[6:])


def _stream(session: Session, query) -> Iterator[sa.Row]:
    # Core rows straight from the connection (no ORM loading layer), streamed in chunks
    yield from session.connection().execute(query.execution_options(stream_results=True, yield_per=CHUNK_ROWS))


class UuidText(sa.sql.functions.FunctionElement):
    """A UUID column read as the text ``str(uuid.UUID)`` gives, made by the database instead of a UUID
    object per cell in Python (the export writes millions of them). SQLite stores the 32 hex digits:
    the dashes go in with substr(); PostgreSQL casts its uuid to the canonical text."""

    type = sa.String()
    name = "uuid_text"
    inherit_cache = True


@compiles(UuidText)
def _uuid_text_default(element, compiler, **kw):
    return f"CAST({compiler.process(element.clauses, **kw)} AS VARCHAR)"


@compiles(UuidText, "sqlite")
def _uuid_text_sqlite(element, compiler, **kw):
    x = compiler.process(element.clauses, **kw)
    dashed = "||'-'||".join(f"substr({x}, {start}, {length})" for start, length in
                             ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12)))
    return f"(CASE WHEN length({x}) = 32 THEN lower({dashed}) ELSE {x} END)"


def uuid_text(column) -> sa.ColumnElement:
    """``column`` (a UUID) as :class:`UuidText`, keeping its name."""
    return UuidText(column).label(column.key)


def cluster_sectors(session: Session) -> dict[uuid.UUID, str]:
    """Each cluster's sectors joined by ";" in priority order (clusters are few: held in memory)."""
    sectors: dict[uuid.UUID, list[str]] = {}
    for cluster_id, sector in session.execute(
        sa.select(m.ClusterSector.cluster_id, m.ClusterSector.sector)
        .order_by(m.ClusterSector.cluster_id, m.ClusterSector.position, m.ClusterSector.sector)
    ):
        sectors.setdefault(cluster_id, []).append(sector)
    joined = {cluster_id: ";".join(values) for cluster_id, values in sectors.items()}
    return {**joined, **{str(cluster_id): value for cluster_id, value in joined.items()}}  # by UUID or its text


def government_clusters(session: Session) -> dict[uuid.UUID, str]:
    """Names of the clusters each member government belongs to, joined by "; "."""
    names: dict[uuid.UUID, list[str]] = {}
    for government_id, name in session.execute(
        sa.select(m.ClusterMember.government_id, m.Cluster.name)
        .join(m.Cluster, m.Cluster.id == m.ClusterMember.cluster_id).order_by(m.Cluster.name)
    ):
        names.setdefault(government_id, []).append(name)
    return {government_id: "; ".join(values) for government_id, values in names.items()}


def _members_of(cluster_id: uuid.UUID):
    return sa.select(m.ClusterMember.government_id).where(m.ClusterMember.cluster_id == cluster_id)


def _scoped(filters: Filters) -> list[uuid.UUID]:
    return sorted(filters.clusters or (), key=str)


def _scope_governments(filters: Filters, government_column):
    """Rows of governments that are members of the exporter's clusters (None: no limit)."""
    if filters.clusters is None:
        return None
    return government_column.in_(
        sa.select(m.ClusterMember.government_id).where(m.ClusterMember.cluster_id.in_(_scoped(filters))))


def _scope_departments(filters: Filters, department_column):
    """Department-wide rows (selection, GCD) of the departments of the exporter's clusters."""
    if filters.clusters is None:
        return None
    return department_column.in_(sa.select(m.Cluster.department_code).where(m.Cluster.id.in_(_scoped(filters))))


def _assessment_base(filters: Filters):
    """Assessments joined to their government, department, cluster and instrument, filtered."""
    gov, dep, clu, ins = m.Government, m.Department, m.Cluster, m.Instrument
    query = (
        sa.select(dep.code, dep.name, gov.ubigeo, gov.name, gov.level, gov.province_code, clu.name, clu.wave,
                  uuid_text(m.Assessment.cluster_id), m.Assessment.round, ins.code, ins.version, uuid_text(m.Assessment.id),
                  m.Assessment.status, m.Assessment.workshop_date)
        .select_from(m.Assessment)
        .join(gov, gov.id == m.Assessment.government_id)
        .join(dep, dep.code == gov.department_code)
        .join(ins, ins.id == m.Assessment.instrument_id)
        .outerjoin(clu, clu.id == m.Assessment.cluster_id)
    )
    if filters.department_code:
        query = query.where(gov.department_code == filters.department_code)
    if filters.cluster_id:
        query = query.where(m.Assessment.government_id.in_(_members_of(filters.cluster_id)))
    if filters.round:
        query = query.where(m.Assessment.round == filters.round)
    if filters.clusters is not None:  # as scope.assessment_condition: started there, or of a member government
        query = query.where(sa.or_(m.Assessment.cluster_id.in_(_scoped(filters)),
                                   _scope_governments(filters, m.Assessment.government_id)))
    return query


def _assessment_context(row, sectors: dict) -> tuple:
    (dep_code, dep_name, ubigeo, government, level, province, cluster, wave, cluster_id, round_, ins_code,
     ins_version, assessment_id, status, workshop_date) = row[:15]
    return (dep_code, dep_name, ubigeo, government, level, province, cluster, wave,
            sectors.get(cluster_id, "") if cluster_id else "", round_, ins_code, ins_version, assessment_id, status,
            workshop_date)


def _assessment_order(query):
    return query.order_by(m.Department.code, m.Government.ubigeo, ROUND_ORDER)


def consensus_rows(session: Session, filters: Filters) -> Iterator[tuple]:
    for row in consensus_rows_with_scale(session, filters):
        yield row[:-2]


def consensus_rows_with_scale(session: Session, filters: Filters) -> Iterator[tuple]:
    """Consensus rows followed by the instrument's scale_min and scale_max (for the indexes)."""
    sectors = cluster_sectors(session)
    query = _assessment_order(
        _assessment_base(filters)
        .add_columns(m.FunctionalArea.code, m.Indicator.code, m.ConsensusScore.score, m.ConsensusScore.evidence,
                     m.Instrument.scale_min, m.Instrument.scale_max)
        .join(m.ConsensusScore, m.ConsensusScore.assessment_id == m.Assessment.id)
        .join(m.Indicator, m.Indicator.id == m.ConsensusScore.indicator_id)
        .join(m.FunctionalArea, m.FunctionalArea.id == m.Indicator.area_id)
    ).order_by(m.FunctionalArea.position, m.FunctionalArea.code, m.Indicator.position, m.Indicator.code)
    for row in _stream(session, query):
        yield (*_assessment_context(row, sectors), *row[15:21])


def participant_score_rows(session: Session, filters: Filters) -> Iterator[tuple]:
    sectors = cluster_sectors(session)
    p = m.Participant
    query = _assessment_order(
        _assessment_base(filters)
        .add_columns(uuid_text(p.id), p.code, p.sex, p.indigenous, p.role, m.FunctionalArea.code, m.Indicator.code,
                     m.ParticipantScore.score)
        .join(m.ParticipantScore, m.ParticipantScore.assessment_id == m.Assessment.id)
        .join(p, p.id == m.ParticipantScore.participant_id)
        .join(m.Indicator, m.Indicator.id == m.ParticipantScore.indicator_id)
        .join(m.FunctionalArea, m.FunctionalArea.id == m.Indicator.area_id)
    ).order_by(p.code, p.id, m.FunctionalArea.position, m.FunctionalArea.code, m.Indicator.position,
               m.Indicator.code)
    for row in _stream(session, query):
        yield (*_assessment_context(row, sectors), *row[15:])


def target_rows(session: Session, filters: Filters) -> Iterator[tuple]:
    clusters = government_clusters(session)
    gov, t = m.Government, m.PerformanceTarget
    query = (
        sa.select(m.Department.code, m.Department.name, gov.ubigeo, gov.name, gov.level, gov.province_code, gov.id,
                  t.id, t.round, t.area_code, t.target)
        .join(gov, gov.id == t.government_id).join(m.Department, m.Department.code == gov.department_code)
        .order_by(m.Department.code, gov.ubigeo, sa.case((t.round == "midpoint", 0), else_=1), t.area_code)
    )
    query = _government_filters(query, filters, t.government_id)
    if filters.round:
        query = query.where(t.round == filters.round)
    for row in _stream(session, query):
        yield (*row[:6], clusters.get(row[6], ""), *row[7:])


def _government_filters(query, filters: Filters, government_column):
    if filters.department_code:
        query = query.where(m.Government.department_code == filters.department_code)
    if filters.cluster_id:
        query = query.where(government_column.in_(_members_of(filters.cluster_id)))
    if filters.clusters is not None:
        query = query.where(_scope_governments(filters, government_column))
    return query


def plan_item_rows(session: Session, filters: Filters) -> Iterator[tuple]:
    clusters = government_clusters(session)
    gov, i = m.Government, m.CapacityPlanItem
    query = (
        sa.select(m.Department.code, m.Department.name, gov.ubigeo, gov.name, gov.level, gov.province_code, gov.id,
                  i.id, i.area_code, i.intervention_type, i.what, i.who_staff, i.where_place, i.sequence,
                  i.resources, i.other_support, i.planned_start, i.planned_end, i.status)
        .join(gov, gov.id == i.government_id).join(m.Department, m.Department.code == gov.department_code)
        .order_by(m.Department.code, gov.ubigeo, i.sequence, i.area_code, i.id)
    )
    query = _government_filters(query, filters, i.government_id)
    for row in _stream(session, query):
        yield (*row[:6], clusters.get(row[6], ""), *row[7:])


def _audit_base(filters: Filters):
    a, clu, ins = m.ServiceAudit, m.Cluster, m.Instrument
    query = (
        sa.select(m.Department.code, m.Department.name, clu.name, clu.wave, a.cluster_id, a.id, a.service_name,
                  a.sector, a.cycle_year, ins.code, ins.version)
        .select_from(a)
        .join(clu, clu.id == a.cluster_id).join(m.Department, m.Department.code == clu.department_code)
        .join(ins, ins.id == a.instrument_id)
        .order_by(m.Department.code, clu.name, a.cycle_year, a.service_name, a.id)
    )
    if filters.department_code:
        query = query.where(clu.department_code == filters.department_code)
    if filters.cluster_id:
        query = query.where(a.cluster_id == filters.cluster_id)
    if filters.clusters is not None:
        query = query.where(a.cluster_id.in_(_scoped(filters)))
    return query


def _audit_context(row, sectors: dict) -> tuple:
    return (*row[:4], sectors.get(row[4], ""), *row[5:11])


def stage_rows(session: Session, filters: Filters) -> Iterator[tuple]:
    sectors, s = cluster_sectors(session), m.AuditStage
    query = (_audit_base(filters).add_columns(s.number, s.name_es, s.name_en, s.planned_start, s.planned_end,
                                              s.actual_start, s.actual_end, s.status)
             .join(s, s.audit_id == m.ServiceAudit.id).order_by(s.number))
    for row in _stream(session, query):
        yield (*_audit_context(row, sectors), *row[11:])


def feedback_rows(session: Session, filters: Filters) -> Iterator[tuple]:
    sectors, r = cluster_sectors(session), m.Respondent
    query = (_audit_base(filters)
             .add_columns(r.id, r.code, r.respondent_type, r.sex, r.indigenous, r.locality, m.FeedbackDimension.code,
                          m.FeedbackItem.code, m.FeedbackRating.rating)
             .join(r, r.audit_id == m.ServiceAudit.id)
             .join(m.FeedbackRating, m.FeedbackRating.respondent_id == r.id)
             .join(m.FeedbackItem, m.FeedbackItem.id == m.FeedbackRating.item_id)
             .join(m.FeedbackDimension, m.FeedbackDimension.id == m.FeedbackItem.dimension_id)
             .order_by(r.code, r.id, m.FeedbackDimension.position, m.FeedbackItem.position, m.FeedbackItem.code))
    for row in _stream(session, query):
        yield (*_audit_context(row, sectors), *row[11:])


def barrier_rows(session: Session, filters: Filters) -> Iterator[tuple]:
    sectors, b = cluster_sectors(session), m.Barrier
    query = (_audit_base(filters).add_columns(b.id, b.description, b.category, b.government_level,
                                              b.within_control, b.priority)
             .join(b, b.audit_id == m.ServiceAudit.id).order_by(b.created_at, b.id))
    for row in _stream(session, query):
        yield (*_audit_context(row, sectors), *row[11:])


def action_rows(session: Session, filters: Filters) -> Iterator[tuple]:
    sectors, x = cluster_sectors(session), m.ImprovementAction
    responsible = sa.orm.aliased(m.Government)
    query = (_audit_base(filters).add_columns(x.id, x.barrier_id, x.description, responsible.ubigeo, responsible.name,
                                              x.deadline, x.status, x.quick_win, x.evidence, x.completed_on)
             .join(x, x.audit_id == m.ServiceAudit.id)
             .outerjoin(responsible, responsible.id == x.responsible_government_id)
             .order_by(x.deadline, x.created_at, x.id))
    for row in _stream(session, query):
        yield (*_audit_context(row, sectors), *row[11:])


def selection_rows(session: Session, filters: Filters) -> Iterator[tuple]:
    r, c, k, s = m.SelectionRecord, m.SelectionCandidate, m.SelectionCriterion, m.SelectionScore
    query = (
        sa.select(m.Department.code, m.Department.name, r.wave, r.scope, r.province_code, r.id, c.ubigeo, c.name,
                  c.chosen, k.code, k.name_es, k.name_en, k.weight, s.score, s.evidence)
        .select_from(s).join(c, c.id == s.candidate_id).join(k, k.id == s.criterion_id)
        .join(r, r.id == c.record_id).join(m.Department, m.Department.code == r.department_code)
        .order_by(m.Department.code, r.wave, r.scope, r.created_at, r.id, c.ubigeo, k.position, k.code)
    )
    department = _department_of_filters(session, filters)
    if department:
        query = query.where(r.department_code == department)
    if filters.clusters is not None:
        query = query.where(_scope_departments(filters, r.department_code))
    for row in _stream(session, query):
        yield tuple(row)


def _department_of_filters(session: Session, filters: Filters) -> str | None:
    """Department-wide tables (selection, GCD) follow the department of a chosen cluster."""
    if filters.department_code:
        return filters.department_code
    if filters.cluster_id:
        return session.execute(sa.select(m.Cluster.department_code).where(m.Cluster.id == filters.cluster_id)).scalar()
    return None


def gcd_member_rows(session: Session, filters: Filters) -> Iterator[tuple]:
    g = m.GcdMember
    query = (sa.select(m.Department.code, m.Department.name, g.period, g.id, g.full_name, g.institution,
                       g.organisation, m.Cluster.name, g.sex, g.indigenous, g.accredited_on)
             .join(m.Department, m.Department.code == g.department_code)
             .outerjoin(m.Cluster, m.Cluster.id == g.cluster_id)
             .order_by(m.Department.code, g.period, g.full_name, g.id))
    department = _department_of_filters(session, filters)
    if department:
        query = query.where(g.department_code == department)
    if filters.clusters is not None:
        query = query.where(_scope_departments(filters, g.department_code))
    for row in _stream(session, query):
        yield tuple(row)


def gcd_meeting_rows(session: Session, filters: Filters) -> Iterator[tuple]:
    g = m.GcdMeeting
    attended = (sa.select(sa.func.count()).select_from(m.GcdAttendance)
                .where(m.GcdAttendance.meeting_id == g.id).scalar_subquery())
    query = (sa.select(m.Department.code, m.Department.name, g.period, g.id, g.kind, g.meeting_date, g.agenda,
                       g.agreements, g.next_agenda, attended)
             .join(m.Department, m.Department.code == g.department_code)
             .order_by(m.Department.code, g.meeting_date, g.id))
    department = _department_of_filters(session, filters)
    if department:
        query = query.where(g.department_code == department)
    if filters.clusters is not None:
        query = query.where(_scope_departments(filters, g.department_code))
    for row in _stream(session, query):
        yield tuple(row)


def gcd_attendance_rows(session: Session, filters: Filters) -> Iterator[tuple]:
    g, a, p = m.GcdMeeting, m.GcdAttendance, m.GcdMember
    query = (sa.select(m.Department.code, m.Department.name, g.period, g.id, g.kind, g.meeting_date, p.id,
                       p.full_name, p.institution, p.sex, p.indigenous)
             .select_from(a).join(g, g.id == a.meeting_id).join(p, p.id == a.member_id)
             .join(m.Department, m.Department.code == g.department_code)
             .order_by(m.Department.code, g.meeting_date, g.id, p.full_name, p.id))
    department = _department_of_filters(session, filters)
    if department:
        query = query.where(g.department_code == department)
    if filters.clusters is not None:
        query = query.where(_scope_departments(filters, g.department_code))
    for row in _stream(session, query):
        yield tuple(row)


ROW_SOURCES = {
    "consensus_scores": consensus_rows,
    "participant_scores": participant_score_rows,
    "targets": target_rows,
    "capacity_plan_items": plan_item_rows,
    "qsip_stages": stage_rows,
    "qsip_feedback": feedback_rows,
    "qsip_barriers": barrier_rows,
    "qsip_actions": action_rows,
    "selection_scores": selection_rows,
    "gcd_members": gcd_member_rows,
    "gcd_meetings": gcd_meeting_rows,
    "gcd_attendance": gcd_attendance_rows,
}


def target_lookup(session: Session, filters: Filters) -> dict[tuple[str, str, str], float]:
    """(ubigeo, area_code, round) → target, for the wide table (one number per government area)."""
    query = (sa.select(m.Government.ubigeo, m.PerformanceTarget.area_code, m.PerformanceTarget.round,
                       m.PerformanceTarget.target)
             .join(m.Government, m.Government.id == m.PerformanceTarget.government_id))
    query = _government_filters(query, filters, m.PerformanceTarget.government_id)
    return {(u, a, r): t for u, a, r, t in session.execute(query)}


def raw_rows(session: Session, table: sa.Table) -> Iterator[sa.Row]:
    """Every row of one merge table, oldest first (ties by id), streamed."""
    dialect = session.get_bind().dialect
    # SQLite stores a timestamp as text: each distinct text is parsed once (the very processors the
    # column's type runs), not once per cell, and the rows carry the same datetime values
    stamps = {i: c.type._cached_result_processor(dialect, None) for i, c in enumerate(table.columns)
              if dialect.name == "sqlite" and isinstance(c.type, sa.types.TypeDecorator)
              and isinstance(c.type.impl_instance, sa.DateTime)}
    columns = [uuid_text(c) if isinstance(c.type, sa.Uuid)
               else sa.type_coerce(c, sa.String).label(c.name) if i in stamps else c
               for i, c in enumerate(table.columns)]
    rows = _stream(session, sa.select(*columns).order_by(table.c.created_at, table.c.id))
    if not stamps:
        yield from rows
        return
    parsed: dict[str, object] = {}
    for row in rows:
        row = list(row)
        for i, process in stamps.items():
            text = row[i]
            if text is not None:
                value = parsed.get(text)
                if value is None:
                    if len(parsed) >= 65_536:
                        parsed.clear()
                    value = parsed[text] = process(text) if process else text
                row[i] = value
        yield row


def instrument_versions(session: Session) -> list[dict]:
    """Every stored instrument version and how many assessments or audits use it."""
    used_a = (sa.select(sa.func.count()).select_from(m.Assessment)
              .where(m.Assessment.instrument_id == m.Instrument.id).scalar_subquery())
    used_q = (sa.select(sa.func.count()).select_from(m.ServiceAudit)
              .where(m.ServiceAudit.instrument_id == m.Instrument.id).scalar_subquery())
    rows = session.execute(
        sa.select(m.Instrument.kind, m.Instrument.code, m.Instrument.version, m.Instrument.name_es,
                  m.Instrument.is_default, m.Government.ubigeo, used_a + used_q)
        .outerjoin(m.Government, m.Government.id == m.Instrument.government_id)
        .order_by(m.Instrument.kind, m.Instrument.code, m.Instrument.version)
    ).all()
    return [{"kind": k, "code": c, "version": v, "name_es": n, "is_default": d, "government_ubigeo": u,
             "n_uses": int(x)} for k, c, v, n, d, u, x in rows]


def schema_revision(session: Session) -> str | None:
    try:
        return session.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    except sa.exc.DBAPIError:
        return None


def export_choices(actor) -> dict:
    """Departments, clusters and assessments' rounds ``actor`` may export, for the export filters (page helper)."""
    from db.engine import read_session

    clusters_query = (
        sa.select(m.Cluster.id, m.Cluster.name, m.Cluster.department_code, m.Department.name)
        .join(m.Department, m.Department.code == m.Cluster.department_code)
        .order_by(m.Department.name, m.Cluster.name)
    )
    departments_query = sa.select(m.Department.code, m.Department.name).order_by(m.Department.name)
    condition = read_scope.cluster_condition(actor, m.Cluster.id)
    if condition is not None:
        clusters_query = clusters_query.where(condition)
        departments_query = departments_query.where(
            m.Department.code.in_(sa.select(m.Cluster.department_code).where(condition)))
    with read_session() as session:
        clusters = session.execute(clusters_query).all()
        departments = session.execute(departments_query).all()
    return {"departments": [(c, n) for c, n in departments],
            "clusters": [(cid, name, dep, dep_name) for cid, name, dep, dep_name in clusters]}


def assessment_targets(actor) -> list[dict]:
    """Assessments ``actor`` reads (id, ubigeo, government, round, instrument) a FOCAS submission can go into."""
    from db.engine import read_session

    query = (
        sa.select(m.Assessment.id, m.Government.ubigeo, m.Government.name, m.Assessment.round,
                  m.Instrument.code, m.Instrument.version)
        .join(m.Government, m.Government.id == m.Assessment.government_id)
        .join(m.Instrument, m.Instrument.id == m.Assessment.instrument_id)
        .order_by(m.Government.ubigeo, ROUND_ORDER)
    )
    with read_session() as session:
        rows = session.execute(read_scope.where(query, read_scope.assessment_condition(actor))).all()
    return [dict(r._mapping) for r in rows]


def audit_targets(actor) -> list[dict]:
    """Service audits ``actor`` reads (id, short code, cluster, service, year) a QSIP submission can go into."""
    from db.engine import read_session

    query = (
        sa.select(m.ServiceAudit.id, m.Cluster.name.label("cluster"), m.ServiceAudit.service_name,
                  m.ServiceAudit.cycle_year, m.Instrument.code, m.Instrument.version)
        .join(m.Cluster, m.Cluster.id == m.ServiceAudit.cluster_id)
        .join(m.Instrument, m.Instrument.id == m.ServiceAudit.instrument_id)
        .order_by(m.Cluster.name, m.ServiceAudit.cycle_year, m.ServiceAudit.service_name)
    )
    with read_session() as session:
        rows = session.execute(read_scope.where(query, read_scope.audit_condition(actor))).all()
    return [{**dict(r._mapping), "audit_code": str(r.id)[:8]} for r in rows]


# Columns of analyst tables that name or identify a person: the record id (withheld in a pseudonymised
# snapshot), the pseudonym kind, and the typed code or name the pseudonym replaces.
PERSONAL_COLUMNS: dict[str, tuple[str, str, str]] = {
    "participant_scores": ("participant_id", "participant", "participant_code"),
    "qsip_feedback": ("respondent_id", "respondent", "respondent_code"),
    "gcd_members": ("member_id", "gcd_member", "full_name"),
    "gcd_attendance": ("member_id", "gcd_member", "full_name"),
}


def pseudonymised_rows(name: str, rows: Iterator[tuple], secret: bytes) -> Iterator[tuple]:
    """A tidy table's rows with each person's id withheld (empty) and their code or name replaced by
    their pseudonym (``scope.pseudonym``); every other cell as it was."""
    id_column, kind, text_column = PERSONAL_COLUMNS[name]
    columns = TIDY_TABLES[name].columns
    id_at, text_at = columns.index(id_column), columns.index(text_column)
    codes: dict = {}
    for row in rows:
        row = list(row)
        record_id = row[id_at]
        code = codes.get(record_id)
        if code is None:
            code = codes[record_id] = read_scope.pseudonym(secret, kind, record_id)
        row[id_at], row[text_at] = None, code
        yield tuple(row)
