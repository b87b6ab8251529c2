"""Demo data for cluster selection and the GCDs: scored wave-1 selections that pick the demo clusters, and one GCD per department.

Synthetic but deterministic (``random.Random(SEED)``); written through the real services as the system user.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from assessments import gcd, selection
from assessments.access import SYSTEM
from db.audit import record
from db.models import Cluster, ClusterMember, Government, SelectionCandidate, SelectionCriterion, SelectionRecord

SEED = 8
CAPITALS_IN_PLAN = {"0104": "010401", "2205": "220501", "1701": "170101"}  # Nieva, Lamas, Tambopata (Annex III)
EVIDENCE = {
    "population_density": ("Censo 2007 (INEI) y proyección 2012", "INEI, estimación de población 2012"),
    "service_gaps": ("ENDES 2012 y ECE 2012 (MINEDU)", "Brechas del PDRC y del PEI regional"),
    "rights_harm": ("Informe de la Defensoría del Pueblo", "Taller con organizaciones de mujeres y federaciones indígenas"),
    "political_will": ("Reunión con el alcalde y su equipo técnico", "Acta de compromiso firmada"),
    "travel_security": ("Consulta al coordinador regional", "Reporte de la policía y la Defensoría"),
    "connectivity": ("Tiempo de viaje por carretera y río", "Mapa vial regional (MTC)"),
    "associations": ("Registro de mancomunidades (PCM)", "Mancomunidad en proceso de inscripción"),
    "usaid_prior": ("Proyectos previos de USAID en la zona", "Sin antecedentes registrados"),
}
FEMALE = ("María", "Rosa", "Carmen", "Julia", "Elena", "Luz", "Gladys", "Nelly", "Marleni", "Yolanda", "Flor", "Juana")
MALE = ("José", "Luis", "Carlos", "Jorge", "Víctor", "Manuel", "Segundo", "Wilder", "Teófilo", "Hernán", "Raúl", "Elmer")
SURNAMES = ("Rengifo", "Pinedo", "Vásquez", "Ríos", "Panduro", "Del Águila", "Chávez", "Torres", "Arévalo", "Tello",
            "Flores", "Ramírez", "García", "Saavedra", "Ruiz", "Díaz")
INDIGENOUS_SURNAMES = ("Tsamajain", "Yampis", "Sanchium", "Shimpukat", "Ahuanari", "Cumapa", "Sangama", "Tapullima",
                       "Amasifuén", "Huaymacari", "Cenepo", "Mozombite")
ORGANISATIONS = {
    "regional_government": ("Gerencia Regional de Planeamiento", "Gerencia Regional de Desarrollo Social",
                            "Dirección Regional de Salud", "Dirección Regional de Educación"),
    "provincial_municipality": ("Municipalidad Provincial",),
    "district_municipality": ("Municipalidad Distrital",),
    "civil_society": ("Mesa de Concertación para la Lucha contra la Pobreza", "Federación de comunidades nativas",
                      "Organización de mujeres", "Colegio profesional", "ONG local"),
    "private_sector": ("Cámara de Comercio",),
}
MEETING_MONTHS = {"plan": 3, "progress": 7, "annual_results": 12}
AGENDA = {
    "plan": ("Presentación del plan de trabajo anual del programa", "Acuerdos: validar el plan y el cronograma de talleres FOCAS"),
    "progress": ("Avances de los clústeres: talleres FOCAS y auditorías QSIP", "Acuerdos: reforzar la convocatoria de usuarias y usuarios"),
    "annual_results": ("Resultados del año y lecciones aprendidas", "Acuerdos: difundir los resultados en cada provincia"),
}


def _provinces_of_clusters(session: Session, clusters: list[Cluster]) -> dict:
    rows = session.execute(
        sa.select(ClusterMember.cluster_id, Government.level, Government.ubigeo)
        .join(Government, Government.id == ClusterMember.government_id)
        .where(ClusterMember.cluster_id.in_([c.id for c in clusters]))).all()
    members: dict = defaultdict(lambda: {"province": None, "districts": []})
    for cluster_id, level, ubigeo in rows:
        if level == "provincial" and members[cluster_id]["province"] is None:
            members[cluster_id]["province"] = ubigeo
        elif level == "district":
            members[cluster_id]["districts"].append(ubigeo)
    return members


def _score(session: Session, rng: random.Random, record_id, winners: set[str]) -> None:
    candidates = session.execute(sa.select(SelectionCandidate).where(SelectionCandidate.record_id == record_id)
                                 .order_by(SelectionCandidate.ubigeo)).scalars().all()
    criteria = sorted(selection_criteria(session, record_id), key=lambda c: c.position)
    edits = []
    for candidate in candidates:
        for criterion in criteria:
            if criterion.code == selection.P20_CRITERION:
                continue  # pre-filled from the registry
            # winners 4–5, the rest 1–3: the demo ranking always puts the real proposals first
            score = rng.choice((4, 5, 5)) if candidate.ubigeo in winners else rng.choice((1, 2, 2, 3, 3))
            evidence = rng.choice(EVIDENCE.get(criterion.code, ("Taller con coordinadores regionales",)))
            edits.append(selection.ScoreEdit(candidate_id=candidate.id, criterion_id=criterion.id, score=score,
                                             evidence=evidence))
    selection.apply_score_edits(session=session, actor=SYSTEM, record_id=record_id, edits=edits)


def _link(session: Session, record_row: SelectionRecord, cluster: Cluster, chosen: set[str]) -> None:
    before = record_row.model_dump()
    record_row.cluster_id = cluster.id
    session.add(record_row)
    for candidate in session.execute(sa.select(SelectionCandidate).where(
            SelectionCandidate.record_id == record_row.id, SelectionCandidate.ubigeo.in_(chosen))).scalars():
        candidate.chosen = True
        session.add(candidate)
    session.flush()
    record(session, SYSTEM, "link_cluster", "selection_record", record_row.id, before=before,
           after=record_row.model_dump(), reason="demo")


def load_selection_demo(session: Session, clusters: list[Cluster], rng: random.Random) -> list[SelectionRecord]:
    members = _provinces_of_clusters(session, clusters)
    by_department: dict[str, list[Cluster]] = defaultdict(list)
    for cluster in clusters:
        if cluster.wave == 1 and members[cluster.id]["province"]:
            by_department[cluster.department_code].append(cluster)
    created = []
    for department_code, group in sorted(by_department.items()):
        province_record = selection.create_record(session=session, actor=SYSTEM, department_code=department_code,
                                                  wave=1, scope="province", notes="Taller de selección, diciembre 2012")
        if department_code == "22":
            # San Martín weighed the authorities' political will double
            criterion = next(c for c in selection_criteria(session, province_record.id) if c.code == "political_will")
            selection.apply_criterion_edits(session=session, actor=SYSTEM, record_id=province_record.id,
                                            edits=[selection.CriterionEdit(criterion_id=criterion.id, weight=2)])
        winners = {members[c.id]["province"] for c in group}
        _score(session, rng, province_record.id, winners)
        _link(session, province_record, group[0], winners)
        created.append(province_record)
        for cluster in group:
            province = members[cluster.id]["province"]
            districts = {d for d in members[cluster.id]["districts"] if d[:4] == province}
            if province in CAPITALS_IN_PLAN:
                districts.add(CAPITALS_IN_PLAN[province])
            district_record = selection.create_record(
                session=session, actor=SYSTEM, department_code=department_code, wave=1, scope="district",
                province_code=province, parent_id=province_record.id)
            _score(session, rng, district_record.id, districts)
            _link(session, district_record, cluster, districts)
            created.append(district_record)
    return created


def selection_criteria(session: Session, record_id) -> list[SelectionCriterion]:
    return list(session.execute(sa.select(SelectionCriterion).where(SelectionCriterion.record_id == record_id)
                                ).scalars())


def _person(rng: random.Random, used: set[str], *, female: bool, indigenous: bool) -> str:
    while True:
        first = rng.choice(FEMALE if female else MALE)
        surname = rng.choice(INDIGENOUS_SURNAMES if indigenous else SURNAMES)
        name = f"{first} {surname} {rng.choice(SURNAMES)}"
        if name not in used:
            used.add(name)
            return name


def load_gcd_demo(session: Session, clusters: list[Cluster], rng: random.Random, *, period: str = "2013-2014") -> int:
    """One GCD per department of the demo clusters; Ucayali over the civil-society cap, Loreto missing a meeting."""
    by_department: dict[str, list[Cluster]] = defaultdict(list)
    for cluster in clusters:
        by_department[cluster.department_code].append(cluster)
    added = 0
    for department_code, group in sorted(by_department.items()):
        group = sorted(group, key=lambda c: (c.wave, c.name))
        # 3 + 2 + 1 + 4 = 10: with one cluster formed, the second provincial seat goes to a province of a
        # later wave (no cluster yet); 3 + 1 + 1 + 4 = 9 could never reach the plan's minimum of 10
        seats = ["regional_government"] * 3 + ["provincial_municipality"] * 2 + ["district_municipality"]
        seats += ["civil_society"] * (5 if department_code == "25" else 3) + ["private_sector"]
        used: set[str] = set()
        member_ids = []
        for index, institution in enumerate(seats):
            female = index % 5 in (1, 3)  # about two in five
            indigenous = institution == "civil_society" and index % 2 == 0 or rng.random() < 0.15
            cluster = None
            if institution == "provincial_municipality" and index - 3 < len(group):
                cluster = group[index - 3]
            if institution == "district_municipality":
                cluster = group[0]
            organisation = rng.choice(ORGANISATIONS[institution])
            if cluster is not None:
                organisation = f"{organisation} · {cluster.name}"
            member = gcd.add_member(session=session, actor=SYSTEM, department_code=department_code, period=period,
                                    data=gcd.MemberInput(
                                        full_name=_person(rng, used, female=female, indigenous=indigenous),
                                        institution=institution, organisation=organisation,
                                        cluster_id=cluster.id if cluster else None,
                                        sex="female" if female else "male",
                                        indigenous="yes" if indigenous else "no",
                                        accredited_on=date(2013, 2, 1) + timedelta(days=rng.randrange(0, 28))))
            member_ids.append(member.id)
            added += 1
        for year in gcd.period_years(period):
            for kind, month in MEETING_MONTHS.items():
                if department_code == "16" and (year, kind) == (2014, "progress"):
                    continue  # the demo's missing meeting
                attendees = [m for m in member_ids if rng.random() < 0.8]
                agenda, agreements = AGENDA[kind]
                gcd.record_meeting(session=session, actor=SYSTEM, department_code=department_code, period=period,
                                   data=gcd.MeetingInput(
                                       kind=kind, meeting_date=date(year, month, 10 + rng.randrange(0, 10)),
                                       agenda=agenda, agreements=agreements,
                                       next_agenda=AGENDA[{"plan": "progress", "progress": "annual_results",
                                                           "annual_results": "plan"}[kind]][0],
                                       attendee_ids=attendees))
    return added


def load_demo(session: Session, clusters: list[Cluster]) -> None:
    rng = random.Random(SEED)
    load_selection_demo(session, clusters, rng)
    load_gcd_demo(session, clusters, rng)
