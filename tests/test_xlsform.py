"""XLSForm: pyxform converts every generated form; KoboToolbox and ODK Central CSVs import, all or nothing."""

from __future__ import annotations

import dataclasses
import io
import uuid

import openpyxl
import pytest
import sqlalchemy as sa
from pyxform.xls2xform import convert

from assessments import xlsform
from assessments.errors import PermissionDenied, ValidationFailed
from assessments.access import Actor
from assessments.instruments import FeedbackItem, FunctionalArea, Indicator, Level, Text, load_focas, load_qsip
from db import models as m
from db.engine import get_engine, write_session
from db.instruments import default_instrument_id, list_instruments
from tests.test_snapshot_factories import seed_cluster


def converted(form: xlsform.XlsForm) -> str:
    result = convert(xlsform=io.BytesIO(form.to_xlsx()), file_type=".xlsx")
    assert result.warnings == []
    return result.xform


def custom_focas():
    """A government's own version: another scale (0-3), an extra area with odd but valid codes."""
    base = load_focas()
    levels = tuple(Level(level=v, name=Text(es=f"Nivel {v}", en=f"Level {v}")) for v in range(0, 4))
    area = FunctionalArea(code="WATER_2-B", name=Text(es="Agua & saneamiento <rural>", en="Water & sanitation"),
                          description=Text(es="", en=""), mandatory=False,
                          indicators=(Indicator(code="WAT-01", name=Text(es="¿Hay \"plan\"?", en="Is there a plan?"),
                                                descriptors={v: Text(es=f"d{v} ñ", en=f"d{v}") for v in range(0, 4)}),))
    areas = tuple(dataclasses.replace(a, indicators=tuple(
        dataclasses.replace(i, descriptors={v - 1: t for v, t in i.descriptors.items()}) for i in a.indicators))
        for a in base.areas)
    return dataclasses.replace(base, version=7, scale_min=0, scale_max=3, levels=levels, areas=(*areas, area))


def test_pyxform_converts_the_default_focas_score_sheet():
    form = xlsform.focas_form(load_focas())
    xform = converted(form)
    assert 'lang="Español (es)"' in xform and 'lang="English (en)"' in xform
    for code in load_focas().indicator_codes():
        assert f"s_{code}" in xform
    assert "'FOCAS:1'" in xform
    assert form.form_id == "focas_focas_v1"


def test_pyxform_converts_the_default_qsip_questionnaire():
    xform = converted(xlsform.qsip_form(load_qsip()))
    for code in load_qsip().item_codes():
        assert f"r_{code}" in xform
    assert "audit_code" in xform


def test_pyxform_converts_a_custom_version_with_another_scale():
    xform = converted(xlsform.focas_form(custom_focas()))
    assert "s_WAT-01" in xform and "g_WATER_2-B" in xform
    assert "Agua &amp; saneamiento &lt;rural&gt;" in xform


def test_pyxform_converts_a_qsip_version_with_extra_items():
    base = load_qsip()
    dimension = dataclasses.replace(base.dimensions[0], items=(*base.dimensions[0].items, FeedbackItem(
        code="EFT-99", text=Text(es="¿Le atendieron en su idioma?", en="Were you served in your language?"))))
    converted(xlsform.qsip_form(dataclasses.replace(base, version=3, dimensions=(dimension, *base.dimensions[1:]))))


def test_every_stored_instrument_version_converts(db_url):
    for version in list_instruments():
        name, data = xlsform.form_bytes(version["id"])
        assert name.endswith(f"_v{version['version']}.xlsx")
        convert(xlsform=io.BytesIO(data), file_type=".xlsx")


def test_forms_carry_spanish_and_english_labels():
    book = openpyxl.load_workbook(io.BytesIO(xlsform.focas_form(load_focas()).to_xlsx()))
    header = [c.value for c in book["survey"][1]]
    assert "label::Español (es)" in header and "label::English (en)" in header
    rows = [dict(zip(header, [c.value for c in row])) for row in book["survey"].iter_rows(min_row=2)]
    questions = [r for r in rows if r["type"] and r["type"].startswith(("select_one", "text"))]
    assert questions and all(r["label::Español (es)"] and r["label::English (en)"] for r in questions)
    sex = [r for r in rows if r["name"] == "sex"][0]
    assert (sex["label::Español (es)"], sex["label::English (en)"]) == ("Sexo", "Sex")
    choices = [[c.value for c in row] for row in book["choices"].iter_rows(min_row=2)]
    level_one = [c for c in choices if c[0] == "lv_ADM-01" and c[1] == "1"][0]
    assert level_one[2].startswith("1 · ") and ":" in level_one[2]  # level name and its descriptor
    assert [c.value for c in book["settings"][2]][3] == "Español (es)"


# --- importing submissions -------------------------------------------------------------------


@pytest.fixture
def draft(db_url):
    """A draft midpoint assessment (default FOCAS) of district 220502, and a seeded QSIP audit."""
    with write_session() as session:
        seeded = seed_cluster(session, ["x"], index=0)
        assessment = m.Assessment(government_id=seeded["government"].id, cluster_id=seeded["cluster"].id,
                                  round="midpoint", instrument_id=default_instrument_id(session, "focas"))
        session.add(assessment)
        session.flush()
    return {"assessment": assessment, "audit": seeded["audit"], "validated": seeded["assessment"]}


KOBO_FOCAS = (
    "start;end;ubigeo;round;participant_code;sex;indigenous;role;organisation;g_ADM/s_ADM-01;g_ADM/s_ADM-02;"
    "g_HR/s_HR-01;instrument_version;meta/instanceID;_id;_uuid;_submission_time\n"
    "2014-05-01T10:00;2014-05-01T10:20;220502;midpoint;P01;female;yes;official;=1+1;3;4;;FOCAS:1;"
    "uuid:0f0e0d0c-0000-4000-8000-000000000001;11;0f0e0d0c-0000-4000-8000-000000000001;2014-05-01\n"
    "2014-05-01T10:05;2014-05-01T10:30;220502;midpoint;P02;male;no;civil_society;Comunidad \"Ñ\";1;2;4;FOCAS:1;"
    "uuid:0f0e0d0c-0000-4000-8000-000000000002;12;0f0e0d0c-0000-4000-8000-000000000002;2014-05-01\n"
)


def focas_rows(assessment_id):
    with get_engine().connect() as connection:
        participants = connection.execute(
            sa.select(m.Participant.code, m.Participant.sex, m.Participant.indigenous, m.Participant.role,
                      m.Participant.organisation)
            .where(m.Participant.assessment_id == assessment_id).order_by(m.Participant.code)).all()
        scores = connection.execute(
            sa.select(m.Participant.code, m.Indicator.code, m.ParticipantScore.score)
            .join(m.Participant, m.Participant.id == m.ParticipantScore.participant_id)
            .join(m.Indicator, m.Indicator.id == m.ParticipantScore.indicator_id)
            .where(m.ParticipantScore.assessment_id == assessment_id)
            .order_by(m.Participant.code, m.Indicator.code)).all()
    return [tuple(p) for p in participants], [tuple(s) for s in scores]


def import_csv(text: str | bytes, kind: str, actor):
    data = text.encode("utf-8") if isinstance(text, str) else text
    with write_session() as session:
        return xlsform.import_submissions(data, kind=kind, session=session, actor=actor)


def test_kobotoolbox_csv_adds_participants_and_scores(draft, actor):
    report = import_csv(KOBO_FOCAS, "focas", actor)
    assert (report.added, report.skipped) == (2, 0)
    participants, scores = focas_rows(draft["assessment"].id)
    assert participants == [("P01", "female", "yes", "official", "=1+1"),
                            ("P02", "male", "no", "civil_society", 'Comunidad "Ñ"')]
    assert scores == [("P01", "ADM-01", 3), ("P01", "ADM-02", 4),
                      ("P02", "ADM-01", 1), ("P02", "ADM-02", 2), ("P02", "HR-01", 4)]


def test_importing_the_same_submissions_twice_adds_nothing(draft, actor):
    import_csv(KOBO_FOCAS, "focas", actor)
    again = import_csv(KOBO_FOCAS, "focas", actor)
    assert (again.added, again.skipped, again.conflicts) == (0, 2, [])
    assert len(focas_rows(draft["assessment"].id)[1]) == 5


def test_odk_central_csv_with_labels_imports(draft, actor):
    central = (
        "SubmissionDate,start,end,ubigeo,round,participant_code,sex,indigenous,role,organisation,"
        "g_ADM-s_ADM-01,g_ADM-s_ADM-02,instrument_version,meta-instanceID,KEY,SubmitterID\n"
        "2014-05-02,a,b,220502,Medio término,P03,Mujer,Prefiere no decir,Other,,2 · Básico: x,,FOCAS:1,"
        "uuid:aa,uuid:aa,5\n"
    )
    report = import_csv(central, "focas", actor)
    assert report.added == 1
    participants, scores = focas_rows(draft["assessment"].id)
    assert participants == [("P03", "female", "undisclosed", "other", "")]
    assert scores == [("P03", "ADM-01", 2)]


@pytest.mark.parametrize("change, key", [
    (lambda t: t.replace(";3;4;;FOCAS", ";7;4;;FOCAS"), "bad_score"),
    (lambda t: t.replace(";220502;midpoint;P02", ";220503;midpoint;P02"), "no_assessment"),
    (lambda t: t.replace("participant_code", "participante"), "missing_columns"),
    (lambda t: t.replace(";female;", ";mujercita;"), "bad_choice"),
    (lambda t: t.replace("g_HR/s_HR-01", "g_HR/s_ZZZ-01"), "unknown_indicator"),
    (lambda t: t.replace(";P02;", ";P01;"), "duplicate_code"),
    (lambda t: t.replace("FOCAS:1;uuid:0f0e0d0c-0000-4000-8000-000000000002", "FOCAS:2;uuid:x"), "wrong_version"),
    (lambda t: t.replace("midpoint;P01", "midpoint;P01;extra"), "bad_row"),
])
def test_a_bad_row_refuses_the_whole_file(draft, actor, change, key):
    with pytest.raises(ValidationFailed) as caught:
        import_csv(change(KOBO_FOCAS), "focas", actor)
    assert caught.value.key == f"xlsform.error.{key}"
    assert "Nothing was saved" in caught.value.message("en") or key in ("empty",)
    assert focas_rows(draft["assessment"].id) == ([], [])


def test_a_file_that_is_not_utf8_is_refused(draft, actor):
    with pytest.raises(ValidationFailed, match="not UTF-8"):
        import_csv(KOBO_FOCAS.replace("Ñ", "Ñ").encode("latin-1"), "focas", actor)
    assert focas_rows(draft["assessment"].id) == ([], [])


def test_a_validated_assessment_takes_no_new_participants(draft, actor):
    text = KOBO_FOCAS.replace("midpoint", "baseline").replace("FOCAS:1", "")
    with pytest.raises(ValidationFailed) as caught:
        import_csv(text, "focas", actor)
    assert caught.value.key == "xlsform.error.validated"


def test_an_evaluator_cannot_import_submissions(draft):
    with pytest.raises(PermissionDenied):
        import_csv(KOBO_FOCAS, "focas", Actor(username="eva", role="evaluator"))


def qsip_csv(audit_id: uuid.UUID) -> str:
    code = str(audit_id)[:8].upper()
    return (
        "audit_code;respondent_type;sex;indigenous;locality;respondent_code;g_effectiveness/r_EFT-01;"
        "g_effectiveness/r_EFT-02;g_satisfaction/r_SAT-03;instrument_version;meta/instanceID\n"
        f"{code};user;female;yes;Lamas;U1;5;4;;QSIP:1;uuid:q1\n"
        f"{code};provider;male;no;;U2;1;;3;QSIP:1;uuid:q2\n"
    )


def test_qsip_submissions_add_respondents_and_ratings_once(draft, actor):
    audit_id = draft["audit"].id
    report = import_csv(qsip_csv(audit_id), "qsip", actor)
    assert report.added == 2
    with get_engine().connect() as connection:
        rows = connection.execute(
            sa.select(m.Respondent.code, m.Respondent.respondent_type, m.Respondent.sex, m.FeedbackItem.code,
                      m.FeedbackRating.rating)
            .join(m.FeedbackRating, m.FeedbackRating.respondent_id == m.Respondent.id)
            .join(m.FeedbackItem, m.FeedbackItem.id == m.FeedbackRating.item_id)
            .where(m.Respondent.audit_id == audit_id, m.Respondent.code.in_(["U1", "U2"]))
            .order_by(m.Respondent.code, m.FeedbackItem.code)).all()
    assert [tuple(r) for r in rows] == [("U1", "user", "female", "EFT-01", 5), ("U1", "user", "female", "EFT-02", 4),
                                        ("U2", "provider", "male", "EFT-01", 1), ("U2", "provider", "male", "SAT-03", 3)]
    again = import_csv(qsip_csv(audit_id), "qsip", actor)
    assert (again.added, again.skipped) == (0, 2)


def test_qsip_rating_off_the_scale_refuses_everything(draft, actor):
    text = qsip_csv(draft["audit"].id).replace(";5;4;", ";6;4;")
    with pytest.raises(ValidationFailed) as caught:
        import_csv(text, "qsip", actor)
    assert caught.value.key == "xlsform.error.bad_score"
    with get_engine().connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(m.Respondent)
                                  .where(m.Respondent.code.in_(["U1", "U2"]))).scalar() == 0


def test_an_unknown_audit_code_is_refused(draft, actor):
    with pytest.raises(ValidationFailed) as caught:
        import_csv(qsip_csv(uuid.UUID(int=0)), "qsip", actor)
    assert caught.value.key == "xlsform.error.no_audit"
