"""A participant list pasted or uploaded (CSV, XLSX) goes in all at once or not at all, with a report per line."""

from __future__ import annotations

import io
import json

import pytest
import sqlalchemy as sa

from assessments import focas
from assessments import participant_list as plist
from assessments.errors import ValidationFailed
from db.engine import read_session, write_session
from db.models import Assessment, AuditEvent, Participant
from tests.test_focas_services import lamas, people, start  # noqa: F401  (fixture)


def run_import(assessment_id, actor, rows, **kwargs):
    with write_session() as session:
        return focas.import_participants(session=session, actor=actor, assessment_id=assessment_id, rows=rows,
                                         **kwargs)


def room(assessment_id) -> list[tuple]:
    with read_session() as session:
        return [tuple(r) for r in session.execute(
            sa.select(Participant.code, Participant.full_name, Participant.sex, Participant.indigenous,
                      Participant.role, Participant.organisation)
            .where(Participant.assessment_id == assessment_id).order_by(Participant.position)).all()]


def n_events() -> int:
    with read_session() as session:
        return session.execute(sa.select(sa.func.count()).select_from(AuditEvent)).scalar_one()


@pytest.fixture
def workshop(lamas, actor):  # noqa: F811
    assessment_id, _ = start(lamas, actor)
    return assessment_id


def test_a_pasted_list_with_spanish_and_english_labels_goes_in_at_once(workshop, actor):
    text = ("Código\tNombre\tSexo\tIndígena\tRol\tOrganización\n"
            "A1\tRosa Sangama\tMujer\tSí\tSociedad civil\tFederación Kechwa\n"
            "\tSegundo Tapullima\tmale\tno\tFuncionario(a)\tMunicipalidad\n"
            "\n"  # a blank line is skipped
            "A3\t\tF\tprefers not to say\tmanager\t\n"
            "A4\tLuz Pinedo\tPrefiere no decir\t\t\t\n")
    report = run_import(workshop, actor, plist.parse_text(text))
    assert report.codes == ["A1", "P01", "A3", "A4"]
    assert room(workshop) == [
        ("A1", "Rosa Sangama", "female", "yes", "civil_society", "Federación Kechwa"),
        ("P01", "Segundo Tapullima", "male", "no", "official", "Municipalidad"),
        ("A3", "", "female", "undisclosed", "manager", ""),
        ("A4", "Luz Pinedo", "undisclosed", "undisclosed", "other", ""),
    ]
    with read_session() as session:
        created = session.execute(sa.select(AuditEvent).where(AuditEvent.entity == "participant",
                                                              AuditEvent.action == "create")).scalars().all()
        summary = session.execute(sa.select(AuditEvent).where(AuditEvent.action == "import")).scalars().one()
    assert len(created) == 4
    assert json.loads(summary.after_json)["codes"] == ["A1", "P01", "A3", "A4"]


def test_one_bad_row_refuses_the_whole_list_and_every_problem_is_reported(workshop, actor):
    people(workshop, actor, 1)  # P01 is in the room already
    text = ("code;name;sex;indigenous;role;organisation\n"
            "X1;Ana Ríos;mujer;si;official;GORE\n"       # 2: fine
            "X2;Juan Soria;;no;official;GORE\n"          # 3: no sex
            ";;male;no;official;GORE\n"                  # 4: neither name nor code
            "X4;Eva Paz;alien;no;official;GORE\n"        # 5: sex not recognised
            "x1;Otra Ana;female;no;official;GORE\n"      # 6: code repeats line 2
            "P01;Pedro;male;no;official;GORE\n"          # 7: code already in the workshop
            "X7;Rita;female;quizás;jefe supremo;GORE\n")  # 8: indigenous and role not recognised
    before = n_events()
    with pytest.raises(focas.ImportRefused) as refused:
        run_import(workshop, actor, plist.parse_text(text))
    assert room(workshop) == [("P01", "Persona 1", "female", "yes", "official", "")]
    assert n_events() == before  # nothing written, nothing audited
    es = refused.value.lines("es")
    assert [line for line, _ in es] == [3, 4, 5, 6, 7, 8, 8]
    assert es[0][1] == "Línea 3: falta el sexo (mujer, hombre, otro o prefiere no decir)."
    assert es[1][1] == "Línea 4: falta el nombre o el código."
    assert "«alien»" in es[2][1]
    assert es[3][1] == "Línea 6: el código x1 se repite (ya está en la línea 2)."
    assert es[4][1] == "Línea 7: el código P01 ya está en este taller."
    en = dict(refused.value.lines("en"))
    assert en[3] == "Line 3: the sex is missing (woman, man, other or prefers not to say)."
    assert en[7] == "Line 7: the code P01 is already in this workshop."
    assert refused.value.message("en").startswith("Nothing was imported: 6 rows have problems.")


def test_a_semicolon_csv_from_excel_and_a_positional_comma_csv(workshop, actor):
    content = ("Código;Nombre;Sexo;Rol\r\nC1;José Núñez;Hombre;Directivo(a) / gerente\r\n").encode("cp1252")
    report = run_import(workshop, actor, plist.parse_upload(content), source="csv")
    assert report.codes == ["C1"]
    positional = "C2,María Ojanasta,Woman,Self-identifies as indigenous,Civil society,Comunidad nativa\n".encode()
    run_import(workshop, actor, plist.parse_upload(positional), source="csv")
    assert room(workshop) == [
        ("C1", "José Núñez", "male", "undisclosed", "manager", ""),
        ("C2", "María Ojanasta", "female", "yes", "civil_society", "Comunidad nativa"),
    ]


def xlsx(rows) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_an_xlsx_list_is_read_from_its_first_sheet(workshop, actor):
    content = xlsx([["Name", "Code", "Sex", "Organisation"],
                    ["Rosa Sangama", 7, "female", "GORE San Martín"],
                    [None, None, None, None],
                    ["Carlos Vela", "P01", "M", None]])
    report = run_import(workshop, actor, plist.parse_upload(content), source="xlsx")
    assert report.codes == ["7", "P01"]
    assert room(workshop)[1] == ("P01", "Carlos Vela", "male", "undisclosed", "other", "")
    bad = xlsx([["Name", "Sex"], ["Rosa", "female"], ["Luis", None]])
    with pytest.raises(focas.ImportRefused) as refused:
        run_import(workshop, actor, plist.parse_upload(bad))
    assert refused.value.lines("es") == [(3, "Línea 3: falta el sexo (mujer, hombre, otro o prefiere no decir).")]


def test_codes_given_to_people_without_one_skip_the_codes_of_the_list(workshop, actor):
    text = "\tAna\tF\n\tBeto\tM\nP02\tCarla\tF\n"
    assert run_import(workshop, actor, plist.parse_text(text)).codes == ["P01", "P03", "P02"]


def test_unreadable_lists_are_refused_before_anything(workshop, actor):
    with pytest.raises(ValidationFailed, match="access.upload_wrong_kind"):
        plist.parse_upload(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(ValidationFailed, match="participant_import.unknown_column"):
        plist.parse_text("código\tnombre\tedad\nA1\tAna\t40\n")
    with pytest.raises(ValidationFailed, match="participant_import.nothing"):
        plist.parse_text("  \n\n")
    with write_session() as session:
        session.get(Assessment, workshop).status = "validated"
    with pytest.raises(ValidationFailed, match="focas.reason_required"):
        run_import(workshop, actor, plist.parse_text("A1\tAna\tF\n"))
    assert run_import(workshop, actor, plist.parse_text("A1\tAna\tF\n"), reason="Lista llegó tarde").codes == ["A1"]
