"""Demo QSIP audits: one audit per demo cluster, two yearly cycles (2013, 2014) of stages, feedback and roadmap.

Synthetic and deterministic (``random.Random`` seeded per cluster); written through the real services so
the demo obeys the same rules and leaves the same audit trail as typed data.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from assessments import qsip
from assessments.access import SYSTEM
from db.models import AuditStage, Barrier, Cluster, ClusterMember, ClusterSector, Government, ImprovementAction, ServiceAudit

SEED = 2013
CYCLES = (2013, 2014)
SERVICES = {
    "health": "Control de crecimiento y desarrollo infantil (CRED)",
    "education": "Acompañamiento pedagógico a escuelas rurales",
    "environment": "Recolección y disposición de residuos sólidos",
}
LOCALITIES = {
    "01": ("Santa María de Nieva", "El Cenepa", "Río Santiago", "Comunidad nativa Wawas"),
    "16": ("Yurimaguas", "Balsapuerto", "Lagunas", "Santa Cruz"),
    "17": ("Puerto Maldonado", "Laberinto", "Mazuko", "Las Piedras"),
    "22": ("Moyobamba", "Lamas", "Juanjuí", "Soritor", "Pachiza"),
    "25": ("Pucallpa", "Manantay", "Campo Verde", "Nueva Requena"),
}
# (description, category, level, within control, priority, [(action, quick win)])
BARRIERS = (
    ("Falta de personal capacitado en el establecimiento en horario de atención", "resources", "regional", False,
     "high", [("Rotación de turnos para cubrir la atención de la tarde", True),
              ("Gestionar dos plazas CAS adicionales ante la DIRESA/DRE", False)]),
    ("Los usuarios no conocen los horarios ni los requisitos del servicio", "information", "district", True,
     "high", [("Periódico mural y aviso radial en lengua originaria con horarios", True),
              ("Reunión informativa trimestral con las juntas vecinales", False)]),
    ("Registros del servicio incompletos y sin consolidar entre niveles", "coordination", "provincial", True,
     "medium", [("Formato único de registro acordado entre municipalidades y región", False)]),
    ("Presupuesto del servicio sin meta física en el PIA municipal", "management", "district", True,
     "medium", [("Incluir meta y actividad del servicio en el presupuesto participativo", False)]),
    ("Traslado de usuarios de comunidades lejanas sin apoyo", "other", "district", False, "low",
     [("Convenio con la municipalidad para movilidad en días de campaña", True)]),
)
# how each group tends to rate (providers rate their own service higher than users do); cycle 2 improves
BASE = {"user": 2.7, "provider": 3.6, "manager": 3.4}
IMPROVEMENT = 0.45


def _rating(rng: random.Random, centre: float) -> int:
    return max(1, min(5, round(rng.gauss(centre, 0.9))))


def _stage_dates(year: int) -> list[tuple[date, date]]:
    # five stages over the year: Feb–Mar, Apr, May, Jun–Oct, Nov
    bounds = ((2, 1, 3, 31), (4, 1, 4, 30), (5, 1, 5, 31), (6, 1, 10, 31), (11, 1, 11, 30))
    return [(date(year, a, b), date(year, c, d)) for a, b, c, d in bounds]


def _feedback(session: Session, rng: random.Random, audit: ServiceAudit, department: str, cycle: int) -> None:
    items = qsip._items_by_code(session, audit.instrument_id)
    places = LOCALITIES.get(department, ("Centro poblado",))
    n = rng.randint(20, 40)
    types = ["user"] * round(n * 0.6) + ["provider"] * round(n * 0.3)
    types += ["manager"] * (n - len(types))
    for number, respondent_type in enumerate(types, start=1):
        lift = IMPROVEMENT * cycle if respondent_type == "user" else IMPROVEMENT * cycle / 2
        centre = BASE[respondent_type] + lift
        indigenous = rng.choices(("yes", "no", "undisclosed"), weights=(45, 50, 5))[0]
        if indigenous == "yes" and respondent_type == "user":
            centre -= 0.3  # the gap the disaggregation is there to show
        data = qsip.RespondentInput(
            respondent_type=respondent_type,
            sex=rng.choices(("female", "male", "undisclosed"), weights=(55, 42, 3))[0],
            indigenous=indigenous,
            locality=rng.choice(places),
            code=f"{audit.cycle_year}-{number:03d}",
            ratings={code: _rating(rng, centre + (0.3 if code.startswith("COV") and cycle else 0))
                     for code in items},
        )
        qsip.add_respondent(session=session, actor=SYSTEM, audit_id=audit.id, data=data)


def _roadmap(session: Session, rng: random.Random, audit: ServiceAudit, members: list[Government],
             today: date) -> None:
    # a later cycle already carries the barriers still open from the previous one
    carried = set(session.execute(sa.select(Barrier.description).where(Barrier.audit_id == audit.id)).scalars())
    n_actions = session.execute(sa.select(sa.func.count()).select_from(ImprovementAction)
                                .where(ImprovementAction.audit_id == audit.id)).scalar_one()
    target = rng.randint(3, 5)
    chosen = []
    for spec in (b for b in BARRIERS if b[0] not in carried):
        # 3-5 barriers and at least 4 actions per cycle
        if len(carried) + len(chosen) >= 5 or (len(carried) + len(chosen) >= target and n_actions >= 4):
            break
        chosen.append(spec)
        n_actions += len(spec[5])
    by_level = {g.level: g for g in members}
    for description, category, level, within, priority, actions in chosen:
        barrier = qsip.add_barrier(session=session, actor=SYSTEM, audit_id=audit.id, data=qsip.BarrierInput(
            description=description, category=category, government_level=level, within_control=within,
            priority=priority))
        for action_text, quick_win in actions:
            # the roadmap was agreed in May of the cycle year; created "as of" then so deadlines are valid
            agreed = date(audit.cycle_year, 5, 31)
            deadline = agreed + timedelta(days=rng.choice((30, 60, 120, 200)) if not quick_win else 45)
            government = by_level.get(level) or members[0]
            action = qsip.add_action(session=session, actor=SYSTEM, audit_id=audit.id, today=agreed,
                                     data=qsip.ActionInput(barrier_id=barrier.id, description=action_text,
                                                           deadline=deadline, quick_win=quick_win,
                                                           responsible_government_id=government.id))
            if quick_win:
                status, evidence = "done", "Acta del taller de validación y fotos del periódico mural"
            elif audit.cycle_year < today.year - 1 or rng.random() < 0.3:
                status, evidence = rng.choice((("done", "Informe de seguimiento del equipo mixto"),
                                               ("in_progress", ""), ("dropped", "")))
            else:
                status, evidence = rng.choice((("planned", ""), ("in_progress", "")))
            if status != "planned":
                qsip.update_action(session=session, actor=SYSTEM, action_id=action.id, today=deadline,
                                   data=qsip.ActionInput(barrier_id=barrier.id, description=action_text,
                                                         deadline=deadline, quick_win=quick_win, status=status,
                                                         evidence=evidence, responsible_government_id=government.id))


def _stages(session: Session, audit: ServiceAudit, *, finished: bool) -> None:
    rows = session.execute(sa.select(AuditStage).where(AuditStage.audit_id == audit.id)
                           .order_by(AuditStage.number)).scalars().all()
    for stage, (start, end) in zip(rows, _stage_dates(audit.cycle_year)):
        changes: dict[str, object] = {"planned_start": start, "planned_end": end}
        if finished or stage.number <= 3:
            changes.update(actual_start=start + timedelta(days=3), actual_end=end + timedelta(days=7), status="done")
        elif stage.number == 4:
            changes.update(actual_start=start + timedelta(days=10), status="in_progress")
        qsip.update_stage(session=session, actor=SYSTEM, stage_id=stage.id, changes=changes)


def load_demo(session: Session, clusters: list[Cluster], today: date | None = None) -> list[ServiceAudit]:
    """One audit per demo cluster: cycle 2013 validated, cycle 2014 at implementation (stage 4)."""
    today = today or date.today()
    made = []
    for index, cluster in enumerate(clusters):
        rng = random.Random(SEED * 100 + index)
        sector = session.execute(sa.select(ClusterSector.sector).where(ClusterSector.cluster_id == cluster.id)
                                 .order_by(ClusterSector.position)).scalars().first() or "health"
        members = session.execute(
            sa.select(Government).join(ClusterMember, ClusterMember.government_id == Government.id)
            .where(ClusterMember.cluster_id == cluster.id).order_by(Government.ubigeo)
        ).scalars().all()
        audit = qsip.create_audit(session=session, actor=SYSTEM, data=qsip.AuditInput(
            cluster_id=cluster.id, service_name=SERVICES[sector], sector=sector, cycle_year=CYCLES[0]))
        for cycle, year in enumerate(CYCLES):
            if cycle:
                audit = qsip.start_next_cycle(session=session, actor=SYSTEM, audit_id=audit.id, cycle_year=year)
            audit.is_demo = True
            session.add(audit)
            _stages(session, audit, finished=cycle == 0)
            _feedback(session, rng, audit, cluster.department_code, cycle)
            _roadmap(session, rng, audit, list(members), today)
            if cycle == 0:
                qsip.validate_results(session=session, actor=SYSTEM, audit_id=audit.id,
                                      validated_on=date(year, 11, 28), validated_by="Equipo mixto del clúster")
            made.append(audit)
    session.flush()
    return made
