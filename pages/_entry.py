"""The browser entry surface on the FOCAS workshop page: score grid, consensus column, participant register.

The keyboard belongs to the browser (pages/components/entry_grid.js, a Components v2 module shipped in
the repository): typing never waits for the server. Every typed cell is kept in the browser's
storage until the server has answered it; the browser sends cells in batches with ids of their own
and re-sends a batch it has no answer for. This module only receives a batch, has
``assessments.entry`` apply it in one retrying transaction, and hands the answer back with the next
drawing of the component (``acks``). A batch that arrives in a fresh server session before the
component's callback exists (the first run after a restart) is applied after the mount instead.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

import streamlit as st

from assessments import entry
from assessments.errors import DomainError
from db.engine import run_write
from db.models.base import INDIGENOUS, PARTICIPANT_ROLES, SEXES
from pages import ui

_HERE = Path(__file__).resolve().parent / "components"
_component = st.components.v2.component(
    "focas_entry_surface",
    js=(_HERE / "entry_grid.js").read_text(encoding="utf-8"),
    css=(_HERE / "entry_grid.css").read_text(encoding="utf-8"),
)
ACKS_KEY = "entry.acks"
# cells per batch (the benchmark's naive baseline sets 1: one round trip per keystroke)
BATCH_MAX = max(1, min(200, int(os.environ.get("FOCAS_ENTRY_BATCH_MAX", "200") or 200)))
KEEP_ACKS = 12
TEXT_KEYS = (
    "all_saved", "pending_one", "pending_many", "refused_one", "refused_many", "offline", "no_storage",
    "view_individual", "view_consensus", "direction", "direction_row", "direction_col", "mandatory", "grid_label",
    "participant", "no_participants", "col_indicator", "col_n", "col_median", "col_iqr", "col_range", "col_flag",
    "col_agreed", "col_evidence", "discuss", "empty", "waiting", "theirs", "why_scale", "why_conflict", "why_locked",
    "why_gone", "why_invalid", "why_busy", "refused_help", "end_of_area", "digits_only", "readonly", "off_scale",
    "keys_grid", "keys_consensus", "pasted", "pasted_outside", "choose", "add", "register_label", "code", "name",
    "sex", "indigenous", "role", "organisation", "queue_label", "keys_register", "need_name_or_code", "need_sex",
    "queued", "discard", "needs_reason", "q_type", "q_locality", "q_code", "q_label", "keys_questionnaire",
    "need_type", "need_rating", "q_saved",
)


def texts() -> dict[str, str]:
    return {key: ui.t(f"entry.ui.{key}") for key in TEXT_KEYS}


def _acks() -> dict:
    return st.session_state.setdefault(ACKS_KEY, {})


def handle_batch(batch: object, *, assessment_id, reason: str | None, kind: str = "focas") -> bool:
    """Apply one batch from the browser (once per browser session; the database answers replays). True if new."""
    if not isinstance(batch, dict) or not isinstance(batch.get("id"), str):
        return False
    acks = _acks()
    if batch["id"] in acks:
        return False
    lang = ui.lang()
    try:
        edits = entry.parse_edits(batch.get("edits"))
    except DomainError as error:
        acks[batch["id"]] = entry.batch_refused(batch["id"], [], error, lang)
        return True
    actor = ui.actor()

    def apply(session):
        if kind == "qsip":
            return entry.apply_questionnaire_batch(session=session, actor=actor, audit_id=assessment_id,
                                                   batch_id=batch["id"], edits=edits, reason=reason, lang=lang)
        return entry.apply_batch(session=session, actor=actor, assessment_id=assessment_id, batch_id=batch["id"],
                                 edits=edits, reason=reason, lang=lang)

    answer = entry.run_batch(functools.partial(run_write, attempts=2), batch_id=batch["id"], edits=edits, lang=lang,
                             apply=apply)
    acks[batch["id"]] = answer
    while len(acks) > KEEP_ACKS:
        acks.pop(next(iter(acks)))
    return True


def _on_batch(key: str, assessment_id, reason: str | None, kind: str) -> None:
    value = st.session_state.get(key)
    batch = value.get("batch") if hasattr(value, "get") else None
    handle_batch(batch, assessment_id=assessment_id, reason=reason, kind=kind)


def _on_nav(key: str, remember) -> None:
    value = st.session_state.get(key)
    nav = value.get("nav") if hasattr(value, "get") else None
    if isinstance(nav, dict) and remember:
        remember(nav)


def _token(editable: bool, reason: str | None) -> str:
    return hashlib.sha256(f"{int(editable)}|{reason or ''}".encode()).hexdigest()[:16]


def surface(*, key: str, assessment_id, data: dict, editable: bool, reason: str | None, remember=None,
            can_unlock: bool = False, kind: str = "focas") -> None:
    """Draw the entry surface (``data`` holds mode and its content) and apply what the browser sends.

    ``can_unlock``: a validated assessment this person may correct once they give a reason; what they
    type before that is kept, marked "locked", and sent when the reason arrives.
    """
    data = dict(data)
    own_texts = data.pop("texts", {})
    payload = {**data, "scope": str(assessment_id), "editable": editable, "canUnlock": can_unlock, "batchMax": BATCH_MAX,
               "editToken": _token(editable, reason),
               "texts": {**texts(), **own_texts}, "lang": ui.lang(), "acks": list(_acks().values())}
    result = _component(
        key=key, data=payload, height="content",
        on_batch_change=functools.partial(_on_batch, key, assessment_id, reason, kind),
        on_nav_change=functools.partial(_on_nav, key, remember),
    )
    # the first run of a new server session registers the component, so its callback did not run yet
    batch = getattr(result, "batch", None)
    if handle_batch(batch, assessment_id=assessment_id, reason=reason, kind=kind):
        st.rerun()


def grid_data(*, instrument, sheet: dict, area: str | None, view: str | None) -> dict:
    """What the score grid and consensus column are drawn with, in the run's language."""
    lang = ui.lang()
    return {
        "mode": "grid", "area": area, "view": view, "scale": sheet["scale"],
        "levels": [{"level": lv.level, "name": lv.name.get(lang)} for lv in instrument.levels],
        "areas": [{
            "code": area_.code, "name": area_.name.get(lang), "mandatory": bool(area_.mandatory),
            "indicators": [{"code": ind.code, "name": ind.name.get(lang),
                            "descriptors": {str(level): text.get(lang) for level, text in ind.descriptors.items()}}
                           for ind in area_.indicators],
        } for area_ in instrument.areas],
        "participants": sheet["participants"], "scores": sheet["scores"], "consensus": sheet["consensus"],
    }


def register_data() -> dict:
    t = ui.t
    return {
        "mode": "register",
        "choices": {
            "sex": [[v, t(f"sex.{v}")] for v in SEXES],
            "indigenous": [[v, t(f"indigenous.{v}")] for v in INDIGENOUS],
            "role": [[v, t(f"focas.role.{v}")] for v in PARTICIPANT_ROLES],
        },
    }


def questionnaire_data(items, *, scale: tuple[int, int] = (1, 5)) -> dict:
    """What the QSIP questionnaire entry is drawn with: who answered, then one box per item by dimension."""
    t = ui.t
    lang = ui.lang()
    dimensions: list[dict] = []
    for row in items.to_dict("records"):
        name = row["dimension_es"] if lang == "es" else row["dimension_en"]
        if not dimensions or dimensions[-1]["code"] != row["dimension"]:
            dimensions.append({"code": row["dimension"], "name": name, "items": []})
        dimensions[-1]["items"].append({"code": row["item_code"],
                                        "text": row["text_es"] if lang == "es" else row["text_en"]})
    return {
        "mode": "questionnaire", "scale": list(scale), "dimensions": dimensions,
        "choices": {
            "respondent_type": [[v, t(f"qsip.type.{v}")] for v in ("user", "provider", "manager")],
            "sex": [[v, t(f"sex.{v}")] for v in SEXES],
            "indigenous": [[v, t(f"indigenous.{v}")] for v in INDIGENOUS],
        },
    }


def questionnaire_grid_data(items, respondents, ratings) -> dict:
    """Questionnaires already entered as a respondents × items grid, to correct a rating from the keyboard."""
    t = ui.t
    base = questionnaire_data(items)
    rows = respondents.sort_values("created_at").to_dict("records")
    return {
        "mode": "grid", "cellPrefix": "q", "noConsensus": True, "view": "individual", "scale": [1, 5],
        "journal": "grid", "levels": [],
        "areas": [{"code": d["code"], "name": d["name"], "mandatory": False,
                   "indicators": [{"code": i["code"], "name": i["text"], "descriptors": {}} for i in d["items"]]}
                  for d in base["dimensions"]],
        "participants": [{"id": str(r["id"]), "code": r["code"] or f"#{n}", "name": t(f"qsip.type.{r['respondent_type']}")}
                         for n, r in enumerate(rows, start=1)],
        "scores": {f"{rid}|{code}": int(v) for rid, code, v in zip(ratings["respondent_id"], ratings["item_code"],
                                                                  ratings["rating"])},
        "texts": {"participant": t("qsip.respondent.code"), "grid_label": t("entry.ui.q_grid_label", area="{area}")},
    }
