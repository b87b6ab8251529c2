"""GCD: accrediting members, the plan's composition rules (warnings), meetings, attendance, missing meetings."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from assessments import gcd
from assessments.clusters import ClusterInput, create_cluster
from assessments.errors import ValidationFailed
from db.engine import write_session
from db.models import AuditEvent, GcdAttendance, GcdMeeting, GcdMember

PERIOD = "2013-2014"
# a composition that meets every rule: 3 regional, 2 provincial, 1 district, 4 civil society / private = 10
COMPLIANT = [
    ("Rosa Rengifo Ríos", "regional_government", "female", "no"),
    ("José Pinedo Tello", "regional_government", "male", "no"),
    ("Luis Arévalo Díaz", "regional_government", "male", "no"),
    ("Carmen Panduro Ruiz", "provincial_municipality", "female", "no"),
    ("Jorge Chávez Flores", "provincial_municipality", "male", "no"),
    ("Elmer Torres García", "district_municipality", "male", "no"),
    ("Nelly Tsamajain Vásquez", "civil_society", "female", "yes"),
    ("Segundo Yampis Ríos", "civil_society", "male", "yes"),
    ("Julia Saavedra Tello", "civil_society", "female", "no"),
    ("Raúl Ramírez Flores", "private_sector", "male", "no"),
]


def n_rows(session, model) -> int:
    session.rollback()
    return session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def add(actor, name, institution="civil_society", sex="female", indigenous="no", department="16", period=PERIOD, **kw):
    with write_session() as s:
        return gcd.add_member(session=s, actor=actor, department_code=department, period=period,
                              data=gcd.MemberInput(full_name=name, institution=institution, sex=sex,
                                                   indigenous=indigenous, **kw))


def add_compliant(actor, department="16"):
    return [add(actor, n, i, s, ind, department=department) for n, i, s, ind in COMPLIANT]


def meet(actor, kind="plan", when=date(2013, 3, 12), attendees=None, department="16", period=PERIOD):
    with write_session() as s:
        return gcd.record_meeting(session=s, actor=actor, department_code=department, period=period,
                                  data=gcd.MeetingInput(kind=kind, meeting_date=when, agenda="Plan anual",
                                                        agreements="Validar el plan", next_agenda="Avances",
                                                        attendee_ids=attendees))


def test_a_compliant_gcd_has_no_warnings_and_reports_gender_and_interculturality(session, actor):
    add_compliant(actor)
    report = gcd.composition("16", PERIOD)
    assert report.warnings == []
    assert (report.total, report.government, report.non_government, report.women, report.indigenous) == (10, 6, 4, 4, 2)
    assert report.counts == {"regional_government": 3, "provincial_municipality": 2, "district_municipality": 1,
                             "civil_society": 3, "private_sector": 1}


def test_composition_rules_warn_but_never_block(session, actor):
    add_compliant(actor)
    add(actor, "Flor Cumapa Sangama", indigenous="yes")  # a 5th civil-society member
    report = gcd.composition("16", PERIOD)
    assert [w.key for w in report.warnings] == ["gcd.civil_society_max"]
    assert n_rows(session, GcdMember) == 11
    for name in ("Luz Ahuanari Pinedo", "Gladys Cenepo Ríos"):
        add(actor, name)
    # 13 members: 7 non-government against 6 government
    assert [w.key for w in gcd.composition("16", PERIOD).warnings] == [
        "gcd.size", "gcd.civil_society_max", "gcd.civil_society_majority"]


def test_one_provincial_member_per_cluster_is_checked_by_cluster_name(session, actor):
    with write_session() as s:
        cluster, _ = create_cluster(session=s, actor=actor, data=ClusterInput(
            name="Alto Amazonas", department_code="16", wave=1, sectors=["health"],
            government_ubigeos=["16", "1602", "160202", "160206", "160210"]))
    add(actor, "Hernán Ríos Tello", "provincial_municipality", "male", cluster_id=cluster.id)
    add(actor, "Wilder Díaz Flores", "provincial_municipality", "male", cluster_id=cluster.id)
    warnings = gcd.composition("16", PERIOD).warnings
    per_cluster = [w for w in warnings if w.key == "gcd.provincial_per_cluster"]
    assert len(per_cluster) == 1 and "Alto Amazonas" in per_cluster[0].message("es")
    assert {"gcd.no_indigenous", "gcd.size", "gcd.regional", "gcd.district"} <= {w.key for w in warnings}


def test_a_member_accredited_twice_is_refused_whatever_the_accents_or_case(session, actor):
    add(actor, "María Tsamajain Vásquez")
    with pytest.raises(ValidationFailed) as error:
        add(actor, "  maria  TSAMAJAIN vasquez ", institution="private_sector")
    assert error.value.key == "gcd.member_duplicate"
    assert "2013–2014" in error.value.message("es")
    assert n_rows(session, GcdMember) == 1
    # the same person may sit on the next period's GCD, or on another department's
    add(actor, "María Tsamajain Vásquez", period="2015-2017")
    add(actor, "María Tsamajain Vásquez", department="01")
    assert n_rows(session, GcdMember) == 3


@pytest.mark.parametrize(("overrides", "key"), [
    ({"full_name": "   "}, "gcd.name_blank"),
    ({"institution": "church"}, "gcd.bad_institution"),
    ({"sex": "f"}, "gcd.bad_sex"),
    ({"accredited_on": date(2016, 1, 5)}, "gcd.accredited_after_period"),
])
def test_bad_members_are_refused(session, actor, overrides, key):
    data = {"full_name": "Juana Sangama Ríos", "institution": "civil_society", **overrides}
    with pytest.raises(ValidationFailed) as error:
        with write_session() as s:
            gcd.add_member(session=s, actor=actor, department_code="16", period=PERIOD, data=gcd.MemberInput(**data))
    assert error.value.key == key
    assert n_rows(session, GcdMember) == 0


def test_a_bad_period_is_refused(session, actor):
    with pytest.raises(ValidationFailed) as error:
        add(actor, "Juana Sangama Ríos", period="2015-2013")
    assert error.value.key == "gcd.bad_period"
    assert gcd.period_years("2015-2017") == [2015, 2016, 2017]


def test_a_meeting_without_a_date_saves_nothing(session, actor):
    members = add_compliant(actor)
    with pytest.raises(ValidationFailed) as error:
        meet(actor, when=None, attendees=[m.id for m in members])
    assert error.value.key == "gcd.meeting_no_date"
    assert error.value.message("en") == "Enter the meeting's date. Nothing was saved."
    assert n_rows(session, GcdMeeting) == 0 and n_rows(session, GcdAttendance) == 0


def test_a_meeting_outside_the_period_or_with_a_stranger_is_refused(session, actor):
    members = add_compliant(actor)
    stranger = add(actor, "Víctor Ríos Ruiz", department="01")
    with pytest.raises(ValidationFailed, match="outside the period"):
        meet(actor, when=date(2015, 3, 1))
    with pytest.raises(ValidationFailed) as error:
        meet(actor, attendees=[members[0].id, stranger.id])
    assert error.value.key == "gcd.attendee_not_member"
    assert n_rows(session, GcdMeeting) == 0


def test_meetings_count_attendance_by_sex_and_indigenous_identity(session, actor):
    members = add_compliant(actor)
    meeting = meet(actor, attendees=[m.id for m in members[5:]])  # Elmer, Nelly, Segundo, Julia, Raúl
    frame = gcd.meetings("16", PERIOD)
    row = frame.iloc[0]
    assert (row["kind"], row["year"], row["n_attendees"], row["n_women"], row["n_indigenous"]) == (
        "plan", 2013, 5, 2, 2)
    assert set(gcd.attendance(meeting.id)) == {m.id for m in members[5:]}
    attended = gcd.members("16", PERIOD).set_index("full_name")["n_attended"]
    assert attended["Nelly Tsamajain Vásquez"] == 1 and attended["Rosa Rengifo Ríos"] == 0


def test_a_missing_meeting_in_a_year_is_visible(session, actor):
    for kind, month in (("plan", 3), ("progress", 7), ("annual_results", 12)):
        meet(actor, kind=kind, when=date(2013, month, 10))
    meet(actor, kind="plan", when=date(2014, 3, 10))
    meet(actor, kind="annual_results", when=date(2014, 12, 10))
    assert gcd.missing_meetings("16", PERIOD, today=date(2026, 1, 1)) == [(2014, "progress")]
    # before 2014 starts, nothing of 2014 is due yet
    assert gcd.missing_meetings("16", PERIOD, today=date(2013, 12, 31)) == []
    assert gcd.missing_meetings("16", "2015-2017", today=date(2016, 6, 1)) == [
        (2015, "plan"), (2015, "progress"), (2015, "annual_results"),
        (2016, "plan"), (2016, "progress"), (2016, "annual_results")]


def test_update_and_delete_meetings_and_members_are_audited(session, actor):
    members = add_compliant(actor)
    meeting = meet(actor, attendees=[members[0].id, members[1].id])
    with write_session() as s:
        gcd.update_meeting(session=s, actor=actor, meeting_id=meeting.id, data=gcd.MeetingInput(
            kind="progress", meeting_date=date(2013, 7, 2), agenda="Avances", attendee_ids=[members[2].id]))
    assert gcd.attendance(meeting.id) == [members[2].id]
    with write_session() as s:
        gcd.remove_member(session=s, actor=actor, member_id=members[2].id)
    assert gcd.attendance(meeting.id) == []
    with write_session() as s:
        gcd.update_member(session=s, actor=actor, member_id=members[0].id, data=gcd.MemberInput(
            full_name="Rosa Rengifo Ríos", institution="regional_government", sex="female", indigenous="yes",
            accredited_on=date(2013, 2, 4)))
    assert gcd.members("16", PERIOD).set_index("full_name").loc["Rosa Rengifo Ríos", "indigenous"] == "yes"
    with write_session() as s:
        gcd.delete_meeting(session=s, actor=actor, meeting_id=meeting.id)
    session.rollback()
    actions = session.execute(sa.select(AuditEvent.entity, AuditEvent.action).where(
        AuditEvent.entity.in_(["gcd_member", "gcd_meeting"]))).all()
    assert actions.count(("gcd_member", "create")) == 10
    assert {("gcd_meeting", "create"), ("gcd_meeting", "update"), ("gcd_meeting", "delete"),
            ("gcd_member", "delete"), ("gcd_member", "update")} <= set(actions)


def test_periods_default_to_the_plans_two_and_add_others_found(session, actor):
    assert gcd.periods("16") == ["2013-2014", "2015-2017"]
    add(actor, "Juana Sangama Ríos", period="2018-2019")
    assert gcd.periods("16") == ["2013-2014", "2015-2017", "2018-2019"]
    assert gcd.periods("01") == ["2013-2014", "2015-2017"]
