"""Instruments in the database: load the default files once, and read any version back as objects."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from assessments import instruments as spec
from db import identity as ids
from db import models as m
from db.models.base import utcnow


def _levels_json(levels) -> str:
    return json.dumps(
        [{"level": lv.level, "es": lv.name.es, "en": lv.name.en} for lv in levels], ensure_ascii=False
    )


def store_focas(session: Session, instrument: spec.FocasInstrument, *, is_default: bool = False,
                government_id: uuid.UUID | None = None, based_on_id: uuid.UUID | None = None,
                custom_codes: frozenset[str] = frozenset(), stamp: datetime | None = None) -> m.Instrument:
    """Write one FOCAS instrument version with its areas, indicators and level descriptors.

    Every row's id is derived from its natural key (db/identity.py); ``stamp`` (default now) is their
    created_at and updated_at.
    """
    stamp = stamp or utcnow()
    key = ("focas", instrument.code, instrument.version)
    times = {"created_at": stamp, "updated_at": stamp}
    row = m.Instrument(id=ids.instrument_id(*key), kind="focas", code=instrument.code, version=instrument.version,
                       name_es=instrument.name.es, name_en=instrument.name.en,
                       scale_min=instrument.scale_min, scale_max=instrument.scale_max,
                       is_default=is_default, government_id=government_id, based_on_id=based_on_id,
                       levels_json=_levels_json(instrument.levels), **times)
    session.add(row)
    areas, indicators, descriptors = [], [], []
    for a_pos, area in enumerate(instrument.areas):
        area_row = m.FunctionalArea(id=ids.area_id(*key, area.code), instrument_id=row.id, code=area.code,
                                    name_es=area.name.es, name_en=area.name.en, description_es=area.description.es,
                                    description_en=area.description.en, mandatory=area.mandatory,
                                    position=a_pos, **times)
        areas.append(area_row)
        for i_pos, indicator in enumerate(area.indicators):
            ind_row = m.Indicator(id=ids.indicator_id(*key, area.code, indicator.code), area_id=area_row.id,
                                  code=indicator.code, name_es=indicator.name.es,
                                  name_en=indicator.name.en, position=i_pos,
                                  is_custom=indicator.code in custom_codes, **times)
            indicators.append(ind_row)
            descriptors.extend(
                m.LevelDescriptor(id=ids.level_descriptor_id(*key, area.code, indicator.code, level),
                                  indicator_id=ind_row.id, level=level, text_es=text.es, text_en=text.en, **times)
                for level, text in sorted(indicator.descriptors.items())
            )
    session.flush()
    for batch in (areas, indicators, descriptors):
        session.execute(sa.insert(type(batch[0])), [r.model_dump() for r in batch]) if batch else None
    return row


def store_qsip(session: Session, instrument: spec.QsipInstrument, *, is_default: bool = False,
               stamp: datetime | None = None) -> m.Instrument:
    """Write one QSIP instrument version with its stages, dimensions and items (ids derived, see above)."""
    stamp = stamp or utcnow()
    key = ("qsip", instrument.code, instrument.version)
    times = {"created_at": stamp, "updated_at": stamp}
    row = m.Instrument(id=ids.instrument_id(*key), kind="qsip", code=instrument.code, version=instrument.version,
                       name_es=instrument.name.es, name_en=instrument.name.en,
                       scale_min=instrument.scale_min, scale_max=instrument.scale_max,
                       is_default=is_default, levels_json=_levels_json(instrument.levels), **times)
    session.add(row)
    session.flush()
    for stage in instrument.stages:
        session.add(m.StageTemplate(id=ids.stage_template_id(*key, stage.number), instrument_id=row.id,
                                    number=stage.number, name_es=stage.name.es,
                                    name_en=stage.name.en, description_es=stage.description.es,
                                    description_en=stage.description.en, **times))
    for d_pos, dimension in enumerate(instrument.dimensions):
        dim_row = m.FeedbackDimension(id=ids.feedback_dimension_id(*key, dimension.code), instrument_id=row.id,
                                      code=dimension.code, name_es=dimension.name.es,
                                      name_en=dimension.name.en, position=d_pos, **times)
        session.add(dim_row)
        for i_pos, item in enumerate(dimension.items):
            session.add(m.FeedbackItem(id=ids.feedback_item_id(*key, dimension.code, item.code),
                                       dimension_id=dim_row.id, code=item.code, text_es=item.text.es,
                                       text_en=item.text.en, position=i_pos, **times))
    session.flush()
    return row


def load_default_instruments(session: Session) -> bool:
    """Store the shipped default FOCAS and QSIP versions unless they are already there."""
    loaded = False
    for kind, load, store in (("focas", spec.load_focas, store_focas), ("qsip", spec.load_qsip, store_qsip)):
        instrument = load()
        exists = session.execute(
            sa.select(m.Instrument.id).where(m.Instrument.kind == kind, m.Instrument.code == instrument.code,
                                             m.Instrument.version == instrument.version)
        ).first()
        if not exists:
            store(session, instrument, is_default=True, stamp=ids.REFERENCE_STAMP)
            loaded = True
    return loaded


def default_instrument_id(session: Session, kind: str) -> uuid.UUID:
    return session.execute(
        sa.select(m.Instrument.id).where(m.Instrument.kind == kind, m.Instrument.is_default.is_(True))
        .order_by(m.Instrument.version.desc())
    ).scalars().first()


def read_focas(session: Session, instrument_id: uuid.UUID) -> spec.FocasInstrument:
    """Any stored FOCAS version back as the same objects the instrument file gives."""
    row = session.get(m.Instrument, instrument_id)
    areas = session.execute(
        sa.select(m.FunctionalArea).where(m.FunctionalArea.instrument_id == instrument_id)
        .order_by(m.FunctionalArea.position)
    ).scalars().all()
    area_ids = [a.id for a in areas]
    indicators = session.execute(
        sa.select(m.Indicator).where(m.Indicator.area_id.in_(area_ids)).order_by(m.Indicator.position)
    ).scalars().all()
    descriptors = session.execute(
        sa.select(m.LevelDescriptor).where(m.LevelDescriptor.indicator_id.in_([i.id for i in indicators]))
    ).scalars().all()
    by_indicator: dict[uuid.UUID, dict[int, spec.Text]] = {}
    for d in descriptors:
        by_indicator.setdefault(d.indicator_id, {})[d.level] = spec.Text(es=d.text_es, en=d.text_en)
    by_area: dict[uuid.UUID, list] = {}
    for i in indicators:
        by_area.setdefault(i.area_id, []).append(
            spec.Indicator(code=i.code, name=spec.Text(es=i.name_es, en=i.name_en),
                           descriptors=by_indicator.get(i.id, {}))
        )
    return spec.FocasInstrument(
        code=row.code, version=row.version, name=spec.Text(es=row.name_es, en=row.name_en),
        scale_min=row.scale_min, scale_max=row.scale_max,
        levels=tuple(spec.Level(level=lv["level"], name=spec.Text(es=lv["es"], en=lv["en"]))
                     for lv in json.loads(row.levels_json)),
        areas=tuple(
            spec.FunctionalArea(code=a.code, name=spec.Text(es=a.name_es, en=a.name_en),
                                description=spec.Text(es=a.description_es, en=a.description_en),
                                mandatory=a.mandatory, indicators=tuple(by_area.get(a.id, [])))
            for a in areas
        ),
    )


def read_qsip(session: Session, instrument_id: uuid.UUID) -> spec.QsipInstrument:
    """Any stored QSIP version back as instrument objects."""
    row = session.get(m.Instrument, instrument_id)
    stages = session.execute(
        sa.select(m.StageTemplate).where(m.StageTemplate.instrument_id == instrument_id).order_by(m.StageTemplate.number)
    ).scalars().all()
    dimensions = session.execute(
        sa.select(m.FeedbackDimension).where(m.FeedbackDimension.instrument_id == instrument_id)
        .order_by(m.FeedbackDimension.position)
    ).scalars().all()
    items = session.execute(
        sa.select(m.FeedbackItem).where(m.FeedbackItem.dimension_id.in_([d.id for d in dimensions]))
        .order_by(m.FeedbackItem.position)
    ).scalars().all()
    by_dimension: dict[uuid.UUID, list] = {}
    for item in items:
        by_dimension.setdefault(item.dimension_id, []).append(
            spec.FeedbackItem(code=item.code, text=spec.Text(es=item.text_es, en=item.text_en)))
    return spec.QsipInstrument(
        code=row.code, version=row.version, name=spec.Text(es=row.name_es, en=row.name_en),
        scale_min=row.scale_min, scale_max=row.scale_max,
        levels=tuple(spec.Level(level=lv["level"], name=spec.Text(es=lv["es"], en=lv["en"]))
                     for lv in json.loads(row.levels_json)),
        stages=tuple(spec.QsipStage(number=s.number, name=spec.Text(es=s.name_es, en=s.name_en),
                                    description=spec.Text(es=s.description_es, en=s.description_en))
                     for s in stages),
        dimensions=tuple(spec.FeedbackDimension(code=d.code, name=spec.Text(es=d.name_es, en=d.name_en),
                                                description=spec.Text(es="", en=""),
                                                items=tuple(by_dimension.get(d.id, [])))
                         for d in dimensions),
    )


def list_instruments(kind: str | None = None) -> list[dict]:
    """Stored instrument versions (id, kind, code, version, name_es, name_en, is_default, government)."""
    from db.engine import read_session

    query = (sa.select(m.Instrument.id, m.Instrument.kind, m.Instrument.code, m.Instrument.version,
                       m.Instrument.name_es, m.Instrument.name_en, m.Instrument.is_default,
                       m.Government.name.label("government"))
             .outerjoin(m.Government, m.Government.id == m.Instrument.government_id)
             .order_by(m.Instrument.kind, m.Instrument.version))
    if kind:
        query = query.where(m.Instrument.kind == kind)
    with read_session() as session:
        return [dict(r._mapping) for r in session.execute(query)]


def focas_version(instrument_id: uuid.UUID) -> spec.FocasInstrument:
    from db.engine import read_session

    with read_session() as session:
        return read_focas(session, instrument_id)


def qsip_version(instrument_id: uuid.UUID) -> spec.QsipInstrument:
    from db.engine import read_session

    with read_session() as session:
        return read_qsip(session, instrument_id)
