"""The departmental consultative group (GCD): accredited members, meetings, attendance and the plan's rules."""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date

import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session

from assessments import rules
from assessments.access import Actor, require
from assessments.errors import NotFound, ValidationFailed
from assessments.text import clean_field
from db.audit import record, record_many
from db.engine import read_session
from db.models import Cluster, Department, GcdAttendance, GcdMeeting, GcdMember
from db.models.base import INDIGENOUS, SEXES

DEFAULT_PERIODS = ("2013-2014", "2015-2017")
_PERIOD = re.compile(r"^(\d{4})-(\d{4})$")
MEMBER_COLUMNS = ["id", "full_name", "institution", "organisation", "cluster_id", "cluster", "sex", "indigenous",
                  "accredited_on", "n_attended"]
MEETING_COLUMNS = ["id", "kind", "meeting_date", "year", "agenda", "agreements", "next_agenda", "n_attendees",
                   "n_women", "n_indigenous"]


# What a user submits for a GCD member.
@dataclass
class MemberInput:
    full_name: str
    institution: str
    organisation: str = ""
    cluster_id: uuid.UUID | None = None
    sex: str = "undisclosed"
    indigenous: str = "undisclosed"
    accredited_on: date | None = None


# What a user submits for a GCD meeting; ``attendee_ids`` are GcdMember ids of the same GCD.
@dataclass
class MeetingInput:
    kind: str
    meeting_date: date | None
    agenda: str = ""
    agreements: str = ""
    next_agenda: str = ""
    attendee_ids: list[uuid.UUID] | None = None


def period_years(period: str) -> list[int]:
    """The calendar years a period such as "2015-2017" covers."""
    match = _PERIOD.fullmatch(period or "")
    if not match or int(match.group(1)) > int(match.group(2)):
        raise ValidationFailed("gcd.bad_period", period=period)
    return list(range(int(match.group(1)), int(match.group(2)) + 1))


def period_label(period: str) -> str:
    """"2013-2014" as typeset ("2013–2014")."""
    return period.replace("-", "–")


def _name_key(name: str) -> str:
    # the same person typed twice differs in case, accents or spacing, never in letters
    text = unicodedata.normalize("NFKD", name or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(text.casefold().split())


def _check_gcd(session: Session, department_code: str, period: str) -> None:
    if not department_code or session.get(Department, department_code) is None:
        raise ValidationFailed("gcd.unknown_department", code=department_code)
    period_years(period)


def _validated_member(session: Session, department_code: str, period: str, data: MemberInput,
                      member_id: uuid.UUID | None) -> MemberInput:
    name = " ".join(clean_field(data.full_name, "gcd.member.full_name").split())
    organisation = clean_field(data.organisation, "gcd.member.organisation")
    if not name:
        raise ValidationFailed("gcd.name_blank")
    if data.institution not in rules.INSTITUTIONS:
        raise ValidationFailed("gcd.bad_institution", institution=data.institution)
    if data.sex not in SEXES:
        raise ValidationFailed("gcd.bad_sex", sex=data.sex)
    if data.indigenous not in INDIGENOUS:
        raise ValidationFailed("gcd.bad_indigenous", indigenous=data.indigenous)
    if data.cluster_id is not None:
        cluster = session.get(Cluster, data.cluster_id)
        if cluster is None or cluster.department_code != department_code:
            raise ValidationFailed("gcd.cluster_other_department")
    if data.accredited_on is not None and data.accredited_on.year > period_years(period)[-1]:
        raise ValidationFailed("gcd.accredited_after_period", date=data.accredited_on.isoformat(),
                               period=period_label(period))
    others = session.execute(sa.select(GcdMember.id, GcdMember.full_name).where(
        GcdMember.department_code == department_code, GcdMember.period == period)).all()
    if any(_name_key(other) == _name_key(name) and other_id != member_id for other_id, other in others):
        raise ValidationFailed("gcd.member_duplicate", name=name, period=period_label(period))
    return MemberInput(full_name=name, institution=data.institution, organisation=organisation,
                       cluster_id=data.cluster_id, sex=data.sex, indigenous=data.indigenous,
                       accredited_on=data.accredited_on)


def _writable(session: Session, actor: Actor, model, row_id: uuid.UUID, not_found: str):
    """A GCD member or meeting, once ``actor`` may write GCD data."""
    require(actor, "gcd.write")
    row = session.get(model, row_id)
    if row is None:
        raise NotFound(not_found)
    return row


def _delete(session: Session, actor: Actor, row, entity: str, before: dict, attendance) -> None:
    """Delete ``row`` with the attendance rows that point at it, and record it."""
    row_id = row.id
    session.execute(sa.delete(GcdAttendance).where(attendance == row_id))
    session.delete(row)
    session.flush()
    record(session, actor, "delete", entity, row_id, before=before)


def add_member(*, session: Session, actor: Actor, department_code: str, period: str, data: MemberInput) -> GcdMember:
    """Accredit a member of a department's GCD for a period (refused if already accredited there)."""
    require(actor, "gcd.write")
    _check_gcd(session, department_code, period)
    clean = _validated_member(session, department_code, period, data, None)
    member = GcdMember(department_code=department_code, period=period, **clean.__dict__)
    session.add(member)
    session.flush()
    record(session, actor, "create", "gcd_member", member.id, after=member)
    return member


def update_member(*, session: Session, actor: Actor, member_id: uuid.UUID, data: MemberInput) -> GcdMember:
    """Correct a member's details (the department and period stay)."""
    member = _writable(session, actor, GcdMember, member_id, "gcd.member_not_found")
    clean = _validated_member(session, member.department_code, member.period, data, member.id)
    before = member.model_dump()
    for column, value in clean.__dict__.items():
        setattr(member, column, value)
    session.add(member)
    session.flush()
    record(session, actor, "update", "gcd_member", member.id, before=before, after=member.model_dump())
    return member


def remove_member(*, session: Session, actor: Actor, member_id: uuid.UUID) -> None:
    """Remove a member and their attendance records."""
    member = _writable(session, actor, GcdMember, member_id, "gcd.member_not_found")
    _delete(session, actor, member, "gcd_member", member.model_dump(), GcdAttendance.member_id)


def _validated_meeting(session: Session, department_code: str, period: str, data: MeetingInput) -> list[uuid.UUID]:
    if data.kind not in rules.MEETING_KINDS:
        raise ValidationFailed("gcd.bad_meeting_kind", kind=data.kind)
    if data.meeting_date is None:
        raise ValidationFailed("gcd.meeting_no_date")
    if not isinstance(data.meeting_date, date):
        raise ValidationFailed("gcd.meeting_bad_date", value=data.meeting_date)
    if data.meeting_date.year not in period_years(period):
        raise ValidationFailed("gcd.meeting_outside_period", date=data.meeting_date.isoformat(),
                               period=period_label(period))
    attendees = list(dict.fromkeys(data.attendee_ids or []))
    if attendees:
        known = set(session.execute(sa.select(GcdMember.id).where(
            GcdMember.department_code == department_code, GcdMember.period == period,
            GcdMember.id.in_(attendees))).scalars())
        if len(known) != len(attendees):
            raise ValidationFailed("gcd.attendee_not_member")
    return attendees


def _meeting_state(session: Session, meeting: GcdMeeting) -> dict:
    attended = session.execute(sa.select(GcdAttendance.member_id).where(GcdAttendance.meeting_id == meeting.id)
                               ).scalars().all()
    return {**meeting.model_dump(), "attendees": sorted(str(a) for a in attended)}


def _meeting_texts(data: MeetingInput) -> dict[str, str]:
    return {column: clean_field(getattr(data, column), f"gcd.meeting.{column}")
            for column in ("agenda", "agreements", "next_agenda")}


def record_meeting(*, session: Session, actor: Actor, department_code: str, period: str,
                   data: MeetingInput) -> GcdMeeting:
    """Record a meeting held (date required) with its agenda, agreements, next agenda and attendance."""
    require(actor, "gcd.write")
    _check_gcd(session, department_code, period)
    attendees = _validated_meeting(session, department_code, period, data)
    meeting = GcdMeeting(department_code=department_code, period=period, kind=data.kind,
                         meeting_date=data.meeting_date, **_meeting_texts(data))
    session.add(meeting)
    session.flush()
    session.add_all([GcdAttendance(meeting_id=meeting.id, member_id=m) for m in attendees])
    session.flush()
    record(session, actor, "create", "gcd_meeting", meeting.id, after=_meeting_state(session, meeting))
    return meeting


def _update_attendance(session: Session, actor: Actor, meeting: GcdMeeting, attendees: list[uuid.UUID]) -> None:
    """The meeting's attendance made ``attendees`` in place: who stays keeps their row (and id), only
    newcomers are inserted and only those no longer listed deleted, each change audited."""
    current = {row.member_id: row for row in session.execute(
        sa.select(GcdAttendance).where(GcdAttendance.meeting_id == meeting.id)).scalars()}
    wanted = set(attendees)
    events = []
    for member_id, row in current.items():
        if member_id not in wanted:
            events.append({"action": "delete", "entity": "gcd_attendance", "entity_id": row.id,
                           "before": row.model_dump()})
            session.delete(row)
    session.flush()
    for member_id in dict.fromkeys(attendees):
        if member_id not in current:
            row = GcdAttendance(meeting_id=meeting.id, member_id=member_id)
            session.add(row)
            events.append({"action": "create", "entity": "gcd_attendance", "entity_id": row.id,
                           "after": row.model_dump()})
    session.flush()
    record_many(session, actor, events)


def update_meeting(*, session: Session, actor: Actor, meeting_id: uuid.UUID, data: MeetingInput) -> GcdMeeting:
    """Correct a meeting; ``attendee_ids`` None keeps the attendance as it is."""
    meeting = _writable(session, actor, GcdMeeting, meeting_id, "gcd.meeting_not_found")
    keep_attendance = data.attendee_ids is None
    attendees = _validated_meeting(session, meeting.department_code, meeting.period, data)
    before = _meeting_state(session, meeting)
    meeting.kind, meeting.meeting_date = data.kind, data.meeting_date
    for column, value in _meeting_texts(data).items():
        setattr(meeting, column, value)
    session.add(meeting)
    if not keep_attendance:
        _update_attendance(session, actor, meeting, attendees)
    session.flush()
    record(session, actor, "update", "gcd_meeting", meeting.id, before=before, after=_meeting_state(session, meeting))
    return meeting


def delete_meeting(*, session: Session, actor: Actor, meeting_id: uuid.UUID) -> None:
    meeting = _writable(session, actor, GcdMeeting, meeting_id, "gcd.meeting_not_found")
    _delete(session, actor, meeting, "gcd_meeting", _meeting_state(session, meeting), GcdAttendance.meeting_id)


# --- reads ----------------------------------------------------------------------------------


def periods(department_code: str | None = None) -> list[str]:
    """The default periods plus any other period holding members or meetings, in order."""
    with read_session() as session:
        member_periods = sa.select(GcdMember.period)
        meeting_periods = sa.select(GcdMeeting.period)
        if department_code:
            member_periods = member_periods.where(GcdMember.department_code == department_code)
            meeting_periods = meeting_periods.where(GcdMeeting.department_code == department_code)
        found = session.execute(sa.union(member_periods, meeting_periods)).scalars().all()
    return sorted(set(DEFAULT_PERIODS) | set(found))


def members(department_code: str, period: str) -> pd.DataFrame:
    """Members of one GCD with their cluster's name and how many meetings they attended."""
    attended = (sa.select(GcdAttendance.member_id, sa.func.count().label("n"))
                .group_by(GcdAttendance.member_id).subquery())
    order = sa.case({name: i for i, name in enumerate(rules.INSTITUTIONS)}, value=GcdMember.institution)
    with read_session() as session:
        rows = session.execute(
            sa.select(GcdMember.id, GcdMember.full_name, GcdMember.institution, GcdMember.organisation,
                      GcdMember.cluster_id, Cluster.name, GcdMember.sex, GcdMember.indigenous,
                      GcdMember.accredited_on, sa.func.coalesce(attended.c.n, 0))
            .outerjoin(Cluster, Cluster.id == GcdMember.cluster_id)
            .outerjoin(attended, attended.c.member_id == GcdMember.id)
            .where(GcdMember.department_code == department_code, GcdMember.period == period)
            .order_by(order, GcdMember.full_name)).all()
    return pd.DataFrame(rows, columns=MEMBER_COLUMNS)


def composition(department_code: str, period: str) -> rules.GcdReport:
    """Counts and the plan's composition warnings for one GCD (warnings name clusters, not ids)."""
    frame = members(department_code, period)
    people = [{"institution": r["institution"], "sex": r["sex"], "indigenous": r["indigenous"],
               "cluster_id": r["cluster"] if r["cluster_id"] is not None else None}
              for r in frame.to_dict("records")]
    return rules.gcd_composition(people)


def meetings(department_code: str, period: str) -> pd.DataFrame:
    """Meetings of one GCD by date with their attendance (total, women, indigenous)."""
    counts = (
        sa.select(GcdAttendance.meeting_id, sa.func.count().label("n"),
                  sa.func.sum(sa.case((GcdMember.sex == "female", 1), else_=0)).label("women"),
                  sa.func.sum(sa.case((GcdMember.indigenous == "yes", 1), else_=0)).label("indigenous"))
        .join(GcdMember, GcdMember.id == GcdAttendance.member_id)
        .group_by(GcdAttendance.meeting_id).subquery()
    )
    with read_session() as session:
        rows = session.execute(
            sa.select(GcdMeeting.id, GcdMeeting.kind, GcdMeeting.meeting_date, GcdMeeting.agenda,
                      GcdMeeting.agreements, GcdMeeting.next_agenda, sa.func.coalesce(counts.c.n, 0),
                      sa.func.coalesce(counts.c.women, 0), sa.func.coalesce(counts.c.indigenous, 0))
            .outerjoin(counts, counts.c.meeting_id == GcdMeeting.id)
            .where(GcdMeeting.department_code == department_code, GcdMeeting.period == period)
            .order_by(GcdMeeting.meeting_date, GcdMeeting.kind)).all()
    frame = pd.DataFrame(rows, columns=["id", "kind", "meeting_date", "agenda", "agreements", "next_agenda",
                                        "n_attendees", "n_women", "n_indigenous"])
    frame["year"] = [d.year for d in frame["meeting_date"]]
    for column in ("n_attendees", "n_women", "n_indigenous"):
        frame[column] = frame[column].astype("int64")
    return frame[MEETING_COLUMNS]


def attendance(meeting_id: uuid.UUID) -> list[uuid.UUID]:
    with read_session() as session:
        return list(session.execute(sa.select(GcdAttendance.member_id)
                                    .where(GcdAttendance.meeting_id == meeting_id)).scalars())


def missing_meetings(department_code: str, period: str, today: date | None = None) -> list[tuple[int, str]]:
    """(year, kind) meetings the plan expects and nobody recorded, in the period's years up to today."""
    today = today or date.today()
    years = [y for y in period_years(period) if y <= today.year]
    held = [(r["year"], r["kind"]) for r in meetings(department_code, period).to_dict("records")]
    return rules.missing_meetings(held, years=years)


def overview(department_codes: tuple[str, ...], today: date | None = None) -> pd.DataFrame:
    """Per department × default period: members, women, indigenous, warnings, meetings held and missing."""
    rows = []
    for code in department_codes:
        for period in periods(code):
            report = composition(code, period)
            rows.append({"department_code": code, "period": period, "members": report.total,
                         "women": report.women, "indigenous": report.indigenous,
                         # a GCD not formed yet has no composition to warn about
                         "warnings": len(report.warnings) if report.total else None, "meetings": len(meetings(code, period)),
                         "missing": len(missing_meetings(code, period, today))})
    frame = pd.DataFrame(rows, columns=["department_code", "period", "members", "women", "indigenous", "warnings",
                                        "meetings", "missing"])
    frame["warnings"] = frame["warnings"].astype("Int64")
    return frame
