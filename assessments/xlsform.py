"""XLSForm for KoboToolbox and ODK Collect: the FOCAS score sheet and QSIP questionnaire of any instrument
version (Spanish and English labels), and import of the CSV submissions KoboToolbox and ODK Central export.

Submissions are matched to their assessment by UBIGEO and round, and to their audit by the audit code (the
first 8 characters of the audit's UUID, shown on the Snapshots page). Each submission's instance ID gives the
participant or respondent a stable UUID, so importing the same CSV twice adds nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from assessments import instruments as spec
from assessments.access import Actor, require
from assessments.errors import ValidationFailed
from assessments.i18n import translate
from assessments.qsip_summary import validate_rating
from assessments.scoring import validate_score
from db import models as m
from db.models.base import INDIGENOUS, PARTICIPANT_ROLES, RESPONDENT_TYPES, ROUNDS, SEXES

LANGUAGE_NAMES = {"es": "Español (es)", "en": "English (en)"}
SUBMISSION_NAMESPACE = uuid.UUID("8a1f0c52-6a53-4c47-9d7e-3c1f5d0b2e61")
MAX_SUBMISSION_ROWS = 20_000
UBIGEO_CONSTRAINT = "regex(., '^[0-9]{2}([0-9]{2}([0-9]{2})?)?$')"
AUDIT_CODE_CONSTRAINT = "regex(., '^[0-9a-fA-F]{8}$')"
INSTANCE_COLUMNS = ("instanceID", "KEY", "_uuid", "uuid")
SURVEY_COLUMNS = ("type", "name", *[f"label::{n}" for n in LANGUAGE_NAMES.values()],
                  *[f"hint::{n}" for n in LANGUAGE_NAMES.values()], "required", "constraint",
                  *[f"constraint_message::{n}" for n in LANGUAGE_NAMES.values()], "appearance", "calculation")
CHOICE_COLUMNS = ("list_name", "name", *[f"label::{n}" for n in LANGUAGE_NAMES.values()])


# --- building forms -------------------------------------------------------------------------


def _both(key: str, **params: object) -> dict[str, str]:
    return {lang: translate(key, lang, **params) for lang in LANGUAGE_NAMES}


def _texts(text: spec.Text) -> dict[str, str]:
    return {"es": text.es or text.en, "en": text.en or text.es}


def _row(kind: str, name: str = "", label: dict | None = None, *, hint: dict | None = None, required: bool = False,
         constraint: str = "", message: dict | None = None, appearance: str = "", calculation: str = "") -> dict:
    row = {"type": kind, "name": name, "required": "yes" if required else "", "constraint": constraint,
           "appearance": appearance, "calculation": calculation}
    for lang, language in LANGUAGE_NAMES.items():
        row[f"label::{language}"] = (label or {}).get(lang, "")
        row[f"hint::{language}"] = (hint or {}).get(lang, "")
        row[f"constraint_message::{language}"] = (message or {}).get(lang, "")
    return row


def _choice(list_name: str, name: str, label: dict) -> dict:
    return {"list_name": list_name, "name": name, **{f"label::{language}": label[lang]
                                                     for lang, language in LANGUAGE_NAMES.items()}}


def _vocabulary(list_name: str, values: Iterable[str], prefix: str) -> list[dict]:
    return [_choice(list_name, value, _both(f"{prefix}.{value}")) for value in values]


# An XLSForm as rows of its three sheets.
@dataclass
class XlsForm:
    form_id: str
    title: dict
    version: str
    survey: list[dict] = field(default_factory=list)
    choices: list[dict] = field(default_factory=list)

    def settings(self) -> dict:
        return {"form_title": self.title["es"], "form_id": self.form_id, "version": self.version,
                "default_language": LANGUAGE_NAMES["es"]}

    def to_xlsx(self) -> bytes:
        from openpyxl import Workbook

        workbook = Workbook()
        survey = workbook.active
        survey.title = "survey"
        survey.append(list(SURVEY_COLUMNS))
        for row in self.survey:
            survey.append([row.get(c, "") for c in SURVEY_COLUMNS])
        choices = workbook.create_sheet("choices")
        choices.append(list(CHOICE_COLUMNS))
        for row in self.choices:
            choices.append([row.get(c, "") for c in CHOICE_COLUMNS])
        settings = workbook.create_sheet("settings")
        values = self.settings()
        settings.append(list(values))
        settings.append(list(values.values()))
        buffer = io.BytesIO()
        workbook.save(buffer)
        return buffer.getvalue()

    def file_name(self) -> str:
        return f"{self.form_id}.xlsx"


def score_field(indicator_code: str) -> str:
    return f"s_{indicator_code}"


def rating_field(item_code: str) -> str:
    return f"r_{item_code}"


def _instrument_tag(instrument) -> str:
    return f"{instrument.code}:{instrument.version}"


def _metadata_rows() -> list[dict]:
    return [_row("start", "start"), _row("end", "end")]


def focas_form(instrument: spec.FocasInstrument) -> XlsForm:
    """The participant score sheet of one FOCAS version: who the participant is, then one question per indicator."""
    form = XlsForm(form_id=f"focas_{instrument.code.lower()}_v{instrument.version}",
                   title=_both("xlsform.focas_title", name=instrument.name.es, version=instrument.version),
                   version=str(instrument.version))
    form.title["en"] = translate("xlsform.focas_title", "en", name=instrument.name.en, version=instrument.version)
    form.survey += _metadata_rows()
    form.survey += [
        _row("note", "intro", _both("xlsform.focas_intro")),
        _row("text", "ubigeo", _both("xlsform.ubigeo"), hint=_both("xlsform.ubigeo_hint"), required=True,
             constraint=UBIGEO_CONSTRAINT, message=_both("xlsform.ubigeo_message")),
        _row("select_one round", "round", _both("xlsform.round"), required=True),
        _row("text", "participant_code", _both("xlsform.participant_code"), hint=_both("xlsform.participant_hint"),
             required=True),
        _row("select_one sex", "sex", _both("xlsform.sex"), required=True),
        _row("select_one indigenous", "indigenous", _both("xlsform.indigenous"), required=True),
        _row("select_one role", "role", _both("xlsform.role"), required=True),
        _row("text", "organisation", _both("xlsform.organisation")),
    ]
    form.choices += _vocabulary("round", ROUNDS, "round")
    form.choices += _vocabulary("sex", SEXES, "sex")
    form.choices += _vocabulary("indigenous", INDIGENOUS, "indigenous")
    form.choices += _vocabulary("role", PARTICIPANT_ROLES, "xlsform.role")
    level_names = {level.level: level.name for level in instrument.levels}
    for area in instrument.areas:
        form.survey.append(_row("begin_group", f"g_{area.code}", _texts(area.name), appearance="field-list"))
        for indicator in area.indicators:
            list_name = f"lv_{indicator.code}"
            form.survey.append(_row(f"select_one {list_name}", score_field(indicator.code),
                                    {lang: f"{indicator.code} · {text}" for lang, text in _texts(indicator.name).items()}))
            for level in instrument.scale():
                name = level_names.get(level)
                descriptor = indicator.descriptors.get(level)
                label = {}
                for lang in LANGUAGE_NAMES:
                    parts = [str(level)]
                    if name is not None:
                        parts.append(name.get(lang))
                    text = f"{' · '.join(parts)}"
                    if descriptor is not None:
                        text += f": {descriptor.get(lang)}"
                    label[lang] = text
                form.choices.append(_choice(list_name, str(level), label))
        form.survey.append(_row("end_group"))
    form.survey.append(_row("calculate", "instrument_version", calculation=f"'{_instrument_tag(instrument)}'"))
    return form


def qsip_form(instrument: spec.QsipInstrument) -> XlsForm:
    """The customer-feedback questionnaire of one QSIP version: the respondent, then one rating per item."""
    form = XlsForm(form_id=f"qsip_{instrument.code.lower()}_v{instrument.version}",
                   title={"es": translate("xlsform.qsip_title", "es", name=instrument.name.es,
                                          version=instrument.version),
                          "en": translate("xlsform.qsip_title", "en", name=instrument.name.en,
                                          version=instrument.version)},
                   version=str(instrument.version))
    form.survey += _metadata_rows()
    form.survey += [
        _row("note", "intro", _both("xlsform.qsip_intro")),
        _row("text", "audit_code", _both("xlsform.audit_code"), hint=_both("xlsform.audit_code_hint"), required=True,
             constraint=AUDIT_CODE_CONSTRAINT, message=_both("xlsform.audit_code_message")),
        _row("select_one respondent_type", "respondent_type", _both("xlsform.respondent_type"), required=True),
        _row("select_one sex", "sex", _both("xlsform.sex"), required=True),
        _row("select_one indigenous", "indigenous", _both("xlsform.indigenous"), required=True),
        _row("text", "locality", _both("xlsform.locality")),
        _row("text", "respondent_code", _both("xlsform.respondent_code")),
    ]
    form.choices += _vocabulary("respondent_type", RESPONDENT_TYPES, "xlsform.respondent_type")
    form.choices += _vocabulary("sex", SEXES, "sex")
    form.choices += _vocabulary("indigenous", INDIGENOUS, "indigenous")
    level_names = {level.level: level.name for level in instrument.levels}
    for value in instrument.scale():
        name = level_names.get(value)
        form.choices.append(_choice("rating", str(value), {
            lang: f"{value} · {name.get(lang)}" if name is not None else str(value) for lang in LANGUAGE_NAMES}))
    for dimension in instrument.dimensions:
        form.survey.append(_row("begin_group", f"g_{dimension.code}", _texts(dimension.name), appearance="field-list"))
        for item in dimension.items:
            form.survey.append(_row("select_one rating", rating_field(item.code), _texts(item.text)))
        form.survey.append(_row("end_group"))
    form.survey.append(_row("calculate", "instrument_version", calculation=f"'{_instrument_tag(instrument)}'"))
    return form


def form_for(instrument_id: uuid.UUID) -> XlsForm:
    """The XLSForm of a stored instrument version (FOCAS score sheet or QSIP questionnaire)."""
    from db.engine import read_session
    from db.instruments import read_focas, read_qsip

    with read_session() as session:
        row = session.get(m.Instrument, instrument_id)
        if row is None:
            raise ValidationFailed("xlsform.error.unknown_instrument")
        return focas_form(read_focas(session, instrument_id)) if row.kind == "focas" else \
            qsip_form(read_qsip(session, instrument_id))


# --- reading submission CSVs ----------------------------------------------------------------


# What an import of submissions did.
@dataclass
class SubmissionReport:
    added: int = 0
    skipped: int = 0
    conflicts: list[str] = field(default_factory=list)
    targets: set[str] = field(default_factory=set)


def _fail(key: str, **params: Any) -> ValidationFailed:
    return ValidationFailed(f"xlsform.error.{key}", **params)


def _read_csv(data: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    if not data.strip():
        raise _fail("empty")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _fail("bad_encoding") from None
    if "\x00" in text:
        raise _fail("bad_encoding")
    first = text.split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
        rows = []
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            rows.append((reader.line_num, cells))
            if len(rows) > MAX_SUBMISSION_ROWS:
                raise _fail("too_many_rows", limit=MAX_SUBMISSION_ROWS)
    except csv.Error:
        raise _fail("bad_csv", line=reader.line_num) from None
    return header, rows


def _field_of(header: str, groups: set[str]) -> str:
    """A CSV header as the form field it holds: Kobo writes ``group/field``, ODK Central ``group-field``."""
    name = header.strip().split("/")[-1]
    for group in groups:
        if name.startswith(group + "-"):
            return name[len(group) + 1:]
    if name.startswith("meta-"):
        return name[5:]
    return name


def _check_version(cells: dict[str, str], line: int, instrument) -> None:
    """A row filled in on another version of the form than the instrument it targets is refused."""
    tag = cells.get("instrument_version", "").strip()
    if tag and tag != f"{instrument.code}:{instrument.version}":
        raise _fail("wrong_version", line=line, form=tag[:30], expected=f"{instrument.code}:{instrument.version}")


def _write_plan(session: Session, actor: Actor, plan: list, report, *, entity: str, children: str):
    """Write every checked submission (a row and its scores or ratings), each one audited."""
    from db.audit import record

    for row, child_rows in plan:
        session.add(row)
        session.flush()
        session.add_all(child_rows)
        record(session, actor, "import_submission", entity, row.id,
               after={**row.model_dump(mode="json"), children: len(child_rows)}, reason="xlsform")
        report.added += 1
    session.flush()
    return report


def _choices(cells: dict[str, str], line: int, columns: tuple) -> dict[str, str]:
    """The answers to choice questions, as stored values; ``columns`` holds (column, values, prefix, default)."""
    attributes = {}
    for column, values, prefix, default in columns:
        text = cells.get(column, "").strip()
        value = _choice_value(text, values, prefix) if text else default
        if value is None:
            raise _fail("bad_choice", line=line, column=column, value=text[:30])
        attributes[column] = value
    return attributes


def _numbers(cells: dict[str, str], line: int, prefix: str, known, unknown: str, validate) -> dict[str, object]:
    """The answered number questions named ``prefix`` + code, validated; a code outside ``known`` is refused."""
    numbers = {}
    for field_name, text in cells.items():
        if not field_name.startswith(prefix) or not text.strip():
            continue
        code = field_name[len(prefix):]
        if code not in known:
            raise _fail(unknown, line=line, code=code[:40])
        try:
            numbers[code] = validate(_number_of(text))
        except ValidationFailed as error:
            raise _fail("bad_score", line=line, code=code, message=error) from None  # told in the reader's language
    return numbers


def _choice_value(text: str, allowed: Iterable[str], prefix: str) -> str | None:
    """A select_one answer given as its name or as its Spanish or English label."""
    text = text.strip()
    if text in allowed:
        return text
    for value in allowed:
        if text.casefold() in {translate(f"{prefix}.{value}", lang).casefold() for lang in LANGUAGE_NAMES}:
            return value
    return None


def _number_of(text: str) -> str:
    """A select_one level given as "3" or as its label "3 · Logrado: …"."""
    match = re.match(r"^\s*([+-]?[0-9]+)(\s*·.*)?$", text, re.S)
    return match.group(1) if match else text


def _instance(cells: dict[str, str], line: int) -> str:
    for column in INSTANCE_COLUMNS:
        value = cells.get(column, "").strip()
        if value:
            return value.removeprefix("uuid:")
    return "row:" + hashlib.sha256("\x1f".join(f"{k}={v}" for k, v in sorted(cells.items())).encode()).hexdigest()


def _mapped_rows(data: bytes, groups: set[str], required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    header, rows = _read_csv(data)
    fields = [_field_of(h, groups) for h in header]
    missing = [name for name in required if name not in fields]
    if missing:
        raise _fail("missing_columns", columns=", ".join(missing))
    mapped = []
    for line, cells in rows:
        if len(cells) != len(fields):
            raise _fail("bad_row", line=line)
        mapped.append((line, dict(zip(fields, cells))))
    return mapped


def import_focas_submissions(data: bytes, *, session: Session, actor: Actor) -> SubmissionReport:
    """Participants and their scores from a KoboToolbox/ODK Central CSV of the FOCAS score sheet.

    Every row is checked before anything is written: one bad row refuses the whole file.
    """
    require(actor, "snapshot.import")
    areas = {f"g_{code}" for (code,) in session.execute(sa.select(m.FunctionalArea.code).distinct())}
    rows = _mapped_rows(data, areas, ("ubigeo", "round", "participant_code"))
    assessments: dict[tuple[str, str], tuple] = {}
    indicators: dict[uuid.UUID, dict[str, uuid.UUID]] = {}
    report = SubmissionReport()
    plan: list[tuple[m.Participant, list[m.ParticipantScore]]] = []
    seen_codes: dict[tuple, str] = {}
    planned: set[uuid.UUID] = set()
    for line, cells in rows:
        ubigeo, round_ = cells["ubigeo"].strip(), cells["round"].strip()
        round_ = _choice_value(round_, ROUNDS, "round") or round_
        key = (ubigeo, round_)
        if key not in assessments:
            found = session.execute(
                sa.select(m.Assessment, m.Instrument)
                .join(m.Government, m.Government.id == m.Assessment.government_id)
                .join(m.Instrument, m.Instrument.id == m.Assessment.instrument_id)
                .where(m.Government.ubigeo == ubigeo, m.Assessment.round == round_)
            ).first()
            if found is None:
                raise _fail("no_assessment", line=line, ubigeo=ubigeo[:10], round=round_[:12])
            assessments[key] = tuple(found)
        assessment, instrument = assessments[key]
        _check_version(cells, line, instrument)
        if assessment.id not in indicators:
            indicators[assessment.id] = dict(session.execute(
                sa.select(m.Indicator.code, m.Indicator.id)
                .join(m.FunctionalArea, m.FunctionalArea.id == m.Indicator.area_id)
                .where(m.FunctionalArea.instrument_id == instrument.id)).all())
        codes = indicators[assessment.id]
        participant_id = uuid.uuid5(SUBMISSION_NAMESPACE, f"focas:{_instance(cells, line)}")
        if participant_id in planned:
            report.skipped += 1
            continue
        planned.add(participant_id)
        code = cells["participant_code"].strip()
        if not code:
            raise _fail("blank_code", line=line)
        attributes = _choices(cells, line, (("sex", SEXES, "sex", "undisclosed"),
                                            ("indigenous", INDIGENOUS, "indigenous", "undisclosed"),
                                            ("role", PARTICIPANT_ROLES, "xlsform.role", "other")))
        scores = _numbers(cells, line, "s_", codes, "unknown_indicator",
                          lambda v: validate_score(v, scale_min=instrument.scale_min, scale_max=instrument.scale_max))
        existing = session.get(m.Participant, participant_id)
        if existing is not None:
            stored = dict(session.execute(
                sa.select(m.Indicator.code, m.ParticipantScore.score)
                .join(m.Indicator, m.Indicator.id == m.ParticipantScore.indicator_id)
                .where(m.ParticipantScore.participant_id == participant_id)).all())
            same = (existing.code == code and existing.assessment_id == assessment.id and stored == scores
                    and all(getattr(existing, k) == v for k, v in attributes.items()))
            if same:
                report.skipped += 1
            else:
                report.conflicts.append(f"{line}: {code}")
            continue
        if assessment.status == "validated":
            raise _fail("validated", line=line, ubigeo=ubigeo, round=round_)
        taken = session.execute(sa.select(m.Participant.id).where(
            m.Participant.assessment_id == assessment.id, m.Participant.code == code)).scalar()
        if taken is not None or (assessment.id, code) in seen_codes:
            raise _fail("duplicate_code", line=line, code=code[:40])
        seen_codes[(assessment.id, code)] = str(line)
        participant = m.Participant(id=participant_id, assessment_id=assessment.id, code=code,
                                    organisation=cells.get("organisation", "").strip(), **attributes)
        score_rows = [m.ParticipantScore(id=uuid.uuid5(participant_id, indicator_code), assessment_id=assessment.id,
                                         participant_id=participant_id, indicator_id=codes[indicator_code],
                                         score=score) for indicator_code, score in scores.items()]
        plan.append((participant, score_rows))
        report.targets.add(f"{ubigeo} · {round_}")
    return _write_plan(session, actor, plan, report, entity="participant", children="scores")


def import_qsip_submissions(data: bytes, *, session: Session, actor: Actor) -> SubmissionReport:
    """Respondents and their ratings from a KoboToolbox/ODK Central CSV of the QSIP questionnaire."""
    require(actor, "snapshot.import")
    dimensions = {f"g_{code}" for (code,) in session.execute(sa.select(m.FeedbackDimension.code).distinct())}
    rows = _mapped_rows(data, dimensions, ("audit_code", "respondent_type"))
    audits: dict[str, tuple] = {}
    items: dict[uuid.UUID, dict[str, uuid.UUID]] = {}
    report = SubmissionReport()
    plan: list[tuple[m.Respondent, list[m.FeedbackRating]]] = []
    planned: set[uuid.UUID] = set()
    for line, cells in rows:
        code = cells["audit_code"].strip().lower()
        if not re.fullmatch(r"[0-9a-f]{8}", code):
            raise _fail("bad_audit_code", line=line, value=code[:20])
        if code not in audits:
            found = [tuple(r) for r in session.execute(
                sa.select(m.ServiceAudit, m.Instrument).join(m.Instrument, m.Instrument.id == m.ServiceAudit.instrument_id)
            ).all() if str(r[0].id).startswith(code)]
            if len(found) != 1:
                raise _fail("no_audit", line=line, code=code)
            audits[code] = found[0]
        audit, instrument = audits[code]
        _check_version(cells, line, instrument)
        if audit.id not in items:
            items[audit.id] = dict(session.execute(
                sa.select(m.FeedbackItem.code, m.FeedbackItem.id)
                .join(m.FeedbackDimension, m.FeedbackDimension.id == m.FeedbackItem.dimension_id)
                .where(m.FeedbackDimension.instrument_id == instrument.id)).all())
        known = items[audit.id]
        attributes = _choices(cells, line, (("respondent_type", RESPONDENT_TYPES, "xlsform.respondent_type", None),
                                            ("sex", SEXES, "sex", "undisclosed"),
                                            ("indigenous", INDIGENOUS, "indigenous", "undisclosed")))
        ratings = _numbers(cells, line, "r_", known, "unknown_item", validate_rating)
        respondent_id = uuid.uuid5(SUBMISSION_NAMESPACE, f"qsip:{_instance(cells, line)}")
        if respondent_id in planned:
            report.skipped += 1
            continue
        planned.add(respondent_id)
        existing = session.get(m.Respondent, respondent_id)
        if existing is not None:
            stored = dict(session.execute(
                sa.select(m.FeedbackItem.code, m.FeedbackRating.rating)
                .join(m.FeedbackItem, m.FeedbackItem.id == m.FeedbackRating.item_id)
                .where(m.FeedbackRating.respondent_id == respondent_id)).all())
            same = existing.audit_id == audit.id and stored == ratings and all(
                getattr(existing, k) == v for k, v in attributes.items())
            if same:
                report.skipped += 1
            else:
                report.conflicts.append(f"{line}: {cells.get('respondent_code', '')}")
            continue
        if audit.validated_at is not None:
            raise _fail("audit_validated", line=line, code=code)
        respondent = m.Respondent(id=respondent_id, audit_id=audit.id, locality=cells.get("locality", "").strip(),
                                  code=cells.get("respondent_code", "").strip(), **attributes)
        rating_rows = [m.FeedbackRating(id=uuid.uuid5(respondent_id, item_code), respondent_id=respondent_id,
                                        item_id=known[item_code], rating=rating)
                       for item_code, rating in ratings.items()]
        plan.append((respondent, rating_rows))
        report.targets.add(f"{audit.service_name} · {audit.cycle_year}")
    return _write_plan(session, actor, plan, report, entity="respondent", children="ratings")


def import_submissions(data: bytes, *, kind: str, session: Session, actor: Actor) -> SubmissionReport:
    """Dispatch on the form kind ("focas" or "qsip")."""
    if kind == "focas":
        return import_focas_submissions(data, session=session, actor=actor)
    if kind == "qsip":
        return import_qsip_submissions(data, session=session, actor=actor)
    raise _fail("unknown_kind")


def form_bytes(instrument_id: uuid.UUID) -> tuple[str, bytes]:
    """(file name, XLSX bytes) of a stored instrument version's XLSForm (cacheable by pages)."""
    form = form_for(instrument_id)
    return form.file_name(), form.to_xlsx()
