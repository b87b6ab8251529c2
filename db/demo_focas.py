"""Demo FOCAS workshops: baseline and midpoint rounds, targets and capacity-building plans for the demo clusters.

Synthetic but plausible: each government has a hidden "true" capacity per indicator; participants score
around it with some noise, the room agrees close to the median, the midpoint is mostly a little higher.
Deterministic (``random.Random(SEED)``), bulk-inserted so a demo load stays fast.
"""

from __future__ import annotations

import random
import statistics
import uuid
from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa
from sqlmodel import Session

from assessments.access import SYSTEM
from db.audit import record
from db.instruments import default_instrument_id, read_focas
from db.models import (
    Assessment,
    CapacityPlanItem,
    Cluster,
    ClusterMember,
    ConsensusScore,
    FunctionalArea,
    Government,
    Indicator,
    Participant,
    ParticipantScore,
    PerformanceTarget,
)

SEED = 2013
FIRST_NAMES_F = ("María", "Rosa", "Juana", "Carmen", "Luz", "Elena", "Nelly", "Yolanda", "Sonia", "Marleni",
                 "Deysi", "Rocío", "Nancy", "Elsa", "Wilma")
FIRST_NAMES_M = ("José", "Juan", "Carlos", "Luis", "Jorge", "Wilson", "Segundo", "Edwin", "Hugo", "Santiago",
                 "Alcides", "Nilo", "Teodoro", "Ernesto", "Raúl")
SURNAMES = ("Huamán", "Tapullima", "Sangama", "Chumbe", "Cahuaza", "Pérez", "Rodríguez", "Shapiama", "Tuesta",
            "Ríos", "Vásquez", "Guerra", "Tangoa", "Apagüeño", "Jempekit", "Ampam", "Sánchez", "Del Águila")
ORGANISATIONS = {
    "official": ("Gerencia de Planeamiento y Presupuesto", "Oficina de Administración", "Recursos Humanos",
                 "Gerencia de Desarrollo Social", "Logística"),
    "manager": ("Gerencia Municipal", "Gerencia General", "Subgerencia de Servicios Públicos"),
    "civil_society": ("Federación de comunidades nativas", "Comité de vaso de leche", "Mesa de concertación",
                      "Asociación de productores", "Organización de mujeres"),
    "other": ("Red de salud", "UGEL", "Centro de salud"),
}
FACILITATORS = ("Ana Lucía Torres", "Miguel Ángel Flores", "Rosa Amelia Panduro", "Jorge Luis Reátegui")
EVIDENCE = (
    "Se revisó el documento aprobado y su publicación en el portal de transparencia.",
    "El equipo mostró los reportes del último semestre; faltan registros de dos unidades.",
    "Consenso tras discusión: existe la norma, pero su aplicación es parcial.",
    "No se presentó evidencia documental; se acordó verificar en la siguiente visita.",
    "Actas de reuniones y listas de asistencia del año en curso.",
    "La sociedad civil señaló que no se le convoca con anticipación.",
    "Información verificada en el SIAF y en el aplicativo del MEF.",
)
PLAN_WHAT = {
    "training": ("Curso de {area} para el personal responsable", "Taller práctico sobre {area}"),
    "technical_assistance": ("Asistencia técnica para actualizar los instrumentos de {area}",
                             "Acompañamiento en el diseño de procedimientos de {area}"),
    "onsite_assistance": ("Asistencia en sitio para implementar mejoras en {area}",
                          "Pasantía de servidores a una municipalidad con buenas prácticas en {area}"),
}
WHO = ("Gerente municipal y jefes de oficina", "Personal de planeamiento y presupuesto", "Regidores y funcionarios",
       "Responsables de las unidades orgánicas", "Personal nombrado y CAS del área")
RESOURCES = ("Especialista del programa, materiales impresos", "Movilidad fluvial y viáticos",
             "Sala de reuniones de la municipalidad, proyector", "Especialista externo, 3 días")
OTHER_SUPPORT = ("", "", "SERVIR dictó un curso similar en 2012.", "El MEF brinda asistencia en presupuesto.",
                 "La cooperación alemana apoya el plan de desarrollo concertado.")


def _stamp(day: date, hour: int = 17) -> datetime:
    return datetime.combine(day, time(hour, 0), tzinfo=timezone.utc)


def _row(**values) -> dict:
    now = datetime.now(timezone.utc)
    return {"id": uuid.uuid4(), "created_at": now, "updated_at": now, **values}


def _people(rng: random.Random, n: int) -> list[dict]:
    roles = ["official"] * 4 + ["manager"] * 2 + ["civil_society"] * 3 + ["other"]
    people = []
    for i in range(n):
        female = rng.random() < 0.45
        role = rng.choice(roles)
        indigenous = "yes" if rng.random() < (0.5 if role == "civil_society" else 0.25) else rng.choice(
            ("no", "no", "no", "undisclosed"))
        anonymous = rng.random() < 0.2
        name = "" if anonymous else (
            f"{rng.choice(FIRST_NAMES_F if female else FIRST_NAMES_M)} {rng.choice(SURNAMES)} {rng.choice(SURNAMES)}")
        people.append({"code": f"P{i + 1:02d}", "full_name": name, "sex": "female" if female else "male",
                       "indigenous": indigenous, "role": role, "organisation": rng.choice(ORGANISATIONS[role]),
                       "position": i + 1})
    # balanced-ish rooms: at least one woman, one indigenous person and one civil-society member
    people[0].update(sex="female")
    people[1].update(indigenous="yes")
    people[2].update(role="civil_society", organisation=ORGANISATIONS["civil_society"][0])
    return people


def _workshop(session: Session, rng: random.Random, *, government: Government, cluster: Cluster, round_name: str,
              instrument_id: uuid.UUID, indicators: list[tuple[uuid.UUID, str, str]], truth: dict[str, float],
              day: date, validated: bool) -> dict[str, int]:
    """One assessment with its room, everyone's scores and the agreed scores; returns code → agreed score."""
    assessment = Assessment(government_id=government.id, cluster_id=cluster.id, round=round_name,
                            instrument_id=instrument_id, workshop_date=day,
                            place=f"Auditorio de {government.name.split(' de ', 1)[-1]}",
                            facilitator=rng.choice(FACILITATORS), is_demo=True,
                            status="validated" if validated else "draft",
                            validated_at=_stamp(day) if validated else None,
                            validated_by="demo" if validated else None)
    session.add(assessment)
    session.flush()
    people = [_row(assessment_id=assessment.id, **p) for p in _people(rng, rng.randint(8, 20))]
    session.execute(sa.insert(Participant), people)
    scores, consensus, agreed = [], [], {}
    for indicator_id, code, _area in indicators:
        given = []
        for person in people:
            if rng.random() < 0.03:  # someone left the room for this one
                continue
            score = min(4, max(1, round(truth[code] + rng.gauss(0, 0.75))))
            given.append(score)
            scores.append(_row(assessment_id=assessment.id, participant_id=person["id"], indicator_id=indicator_id,
                               score=score))
        median = statistics.median(given)
        value = int(median) if median == int(median) else int(median + (0.5 if rng.random() < 0.5 else -0.5))
        if validated or rng.random() < 0.7:
            agreed[code] = value
            consensus.append(_row(assessment_id=assessment.id, indicator_id=indicator_id, score=value,
                                  evidence=rng.choice(EVIDENCE)))
    session.execute(sa.insert(ParticipantScore), scores)
    session.execute(sa.insert(ConsensusScore), consensus)
    record(session, SYSTEM, "create", "assessment", assessment.id, after=assessment, reason="demo")
    return agreed


def load_demo(session: Session, clusters: list[Cluster]) -> None:
    """Baseline (validated) and midpoint (validated or draft) workshops, targets and plans for every member."""
    rng = random.Random(SEED)
    instrument_id = default_instrument_id(session, "focas")
    focas = read_focas(session, instrument_id)
    indicators = [tuple(r) for r in session.execute(
        sa.select(Indicator.id, Indicator.code, FunctionalArea.code)
        .join(FunctionalArea, FunctionalArea.id == Indicator.area_id)
        .where(FunctionalArea.instrument_id == instrument_id)
        .order_by(FunctionalArea.position, Indicator.position)
    ).all()]
    area_names = {area.code: area.name.es for area in focas.areas}
    done: set[uuid.UUID] = set()
    for cluster in clusters:
        members = session.execute(
            sa.select(Government).join(ClusterMember, ClusterMember.government_id == Government.id)
            .where(ClusterMember.cluster_id == cluster.id).order_by(Government.ubigeo)
        ).scalars().all()
        start = (cluster.wave_date or date(2013, 1, 15)) + timedelta(days=45)
        for government in members:
            if government.id in done:  # the regional government belongs to every cluster of its department
                continue
            done.add(government.id)
            level = rng.uniform(1.4, 2.6)
            area_bias = {code: rng.gauss(0, 0.35) for code in area_names}
            truth = {code: level + area_bias[area] + rng.gauss(0, 0.3) for _, code, area in indicators}
            baseline_day = start + timedelta(days=rng.randint(0, 40))
            base = _workshop(session, rng, government=government, cluster=cluster, round_name="baseline",
                             instrument_id=instrument_id, indicators=indicators, truth=truth, day=baseline_day,
                             validated=True)
            gain = {code: value + rng.uniform(0.1, 0.9) for code, value in truth.items()}
            _workshop(session, rng, government=government, cluster=cluster, round_name="midpoint",
                      instrument_id=instrument_id, indicators=indicators, truth=gain,
                      day=baseline_day + timedelta(days=rng.randint(330, 400)), validated=rng.random() < 0.5)
            area_score = {
                area: statistics.mean(base[c] for _, c, a in indicators if a == area and c in base)
                for area in area_names
            }
            targets = []
            for area, score in area_score.items():
                for round_name, step in (("midpoint", 0.5), ("end", 1.0)):
                    goal = min(4.0, round((score + step) * 2) / 2)
                    targets.append(_row(government_id=government.id, area_code=area, round=round_name, target=goal))
            session.execute(sa.insert(PerformanceTarget), targets)
            weakest = sorted(area_score, key=lambda a: (area_score[a], a))[: rng.randint(3, 6)]
            items = []
            for sequence, area in enumerate(weakest, start=1):
                kind = ("training", "technical_assistance", "onsite_assistance")[min(sequence - 1, 2) if sequence < 4
                                                                                else rng.randint(0, 2)]
                planned_start = baseline_day + timedelta(days=30 * sequence)
                items.append(_row(
                    government_id=government.id, area_code=area, intervention_type=kind,
                    what=rng.choice(PLAN_WHAT[kind]).format(area=area_names[area].lower()),
                    who_staff=rng.choice(WHO), where_place=rng.choice(("Sede de la municipalidad", "Sede regional",
                                                                      "En cada oficina", "Capital de provincia")),
                    sequence=sequence, resources=rng.choice(RESOURCES), other_support=rng.choice(OTHER_SUPPORT),
                    planned_start=planned_start, planned_end=planned_start + timedelta(days=rng.choice((2, 5, 30, 60))),
                    status=("done", "in_progress", "planned")[min(2, sequence - 1)]))
            session.execute(sa.insert(CapacityPlanItem), items)
    session.flush()
