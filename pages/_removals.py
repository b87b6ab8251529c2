"""Removals that ask first and can be undone: the one helper every page that deletes something uses.

``confirm_removal`` turns a click on a page's delete button into a question that says what will be lost
("¿Eliminar …? Se perderá: 12 puntajes"), and runs the removal only on "Sí, eliminar". The last removal of
each ``scope`` (a participant list, a plan, an audit's barriers…) is then offered back by ``undo_offer``:
"Deshacer" calls the entity's restore service, which brings the rows back with their ids in one audited
transaction, or says why it cannot (someone took the code meanwhile, a reason is needed, …).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from db.engine import write_session
from pages import ui

PENDING = "removals.pending"  # {confirmation key: id of the row waiting for "Sí, eliminar"}
LAST = "removals.last"  # {scope: {"entity", "id", "label", "removed"}}: what "Deshacer" brings back
DONE = "removals.done"  # {scope: message} shown once after a removal was undone


def _restore(entity: str, session, entity_id: str, reason: str | None) -> Any:
    """The restore service of ``entity`` (imported here: the pages importing this module need only some)."""
    actor = ui.actor()
    if entity == "participant":
        from assessments import focas

        return focas.restore_participant(session=session, actor=actor, participant_id=entity_id, reason=reason)
    if entity == "capacity_plan_item":
        from assessments import capacity_plan

        return capacity_plan.restore_plan_item(session=session, actor=actor, item_id=entity_id)
    from assessments import qsip

    if entity == "respondent":
        return qsip.restore_respondent(session=session, actor=actor, respondent_id=entity_id, reason=reason)
    if entity == "barrier":
        return qsip.restore_barrier(session=session, actor=actor, barrier_id=entity_id, reason=reason)
    if entity == "improvement_action":
        return qsip.restore_action(session=session, actor=actor, action_id=entity_id, reason=reason)
    raise KeyError(entity)


def confirm_removal(
    *,
    scope: str,
    key: str,
    entity: str,
    entity_id: Any,
    what: str,
    label: str,
    remove: Callable[[Any], Any],
    pressed: bool,
    losses: str | None = None,
    ask: bool = True,
    removed: str | None = None,
) -> None:
    """Ask before ``remove(session)`` deletes ``entity_id``; afterwards offer it back in ``scope``.

    ``pressed`` is the page's own delete button (a form's submit button works too). ``what`` names the
    row inside the question ("el/la participante P03"), ``label`` on its own ("Participante P03");
    ``losses`` says what goes with it ("12 puntajes"). ``ask=False`` removes at once (nothing depends on it),
    still with the undo. ``removed`` is the message shown next to "Deshacer".
    """
    pending = st.session_state.setdefault(PENDING, {})
    entity_id = str(entity_id)
    if pressed:
        if not ask:
            _remove(scope, entity, entity_id, label, remove, removed)
            return
        pending[key] = entity_id
    if pending.get(key) != entity_id:
        return
    question = (ui.t("removals.confirm", what=what, losses=losses) if losses
                else ui.t("removals.confirm_plain", what=what))
    st.warning(question, icon=":material/warning:")
    yes, no, _ = st.columns([1, 1, 3])
    if yes.button(ui.t("removals.yes"), key=f"{key}.yes", type="primary"):
        pending.pop(key, None)
        _remove(scope, entity, entity_id, label, remove, removed)
    if no.button(ui.t("removals.no"), key=f"{key}.no"):
        pending.pop(key, None)
        st.rerun()


def _remove(scope: str, entity: str, entity_id: str, label: str, remove, removed: str | None) -> None:
    def unit():
        with write_session() as session:
            remove(session)
        return True

    if ui.attempt(unit):
        st.session_state.setdefault(LAST, {})[scope] = {
            "entity": entity, "id": entity_id, "label": label,
            "removed": removed or ui.t("removals.removed", what=label)}
        st.session_state.setdefault(DONE, {}).pop(scope, None)
        st.rerun()


def undo_offer(scope: str, *, reason: str | None = None, enabled: bool = True) -> None:
    """The last removal in ``scope`` with a "Deshacer" button (and the note that it was undone, once)."""
    done = st.session_state.get(DONE, {}).pop(scope, None)
    if done:
        st.success(done, icon=":material/undo:")
    last = st.session_state.get(LAST, {}).get(scope)
    if not last:
        return
    message, undo, dismiss = st.columns([5, 1, 1], vertical_alignment="center")
    message.info(last["removed"], icon=":material/delete:")
    undone = undo.button(ui.t("removals.undo"), key=f"removals.undo.{scope}", type="primary",
                         icon=":material/undo:", help=ui.t("removals.undo_help"), disabled=not enabled)
    if dismiss.button(ui.t("removals.dismiss"), key=f"removals.dismiss.{scope}"):
        st.session_state[LAST].pop(scope, None)
        st.rerun()
    if undone:
        def unit():
            with write_session() as session:
                _restore(last["entity"], session, last["id"], reason)
            return True

        if ui.attempt(unit):
            st.session_state[LAST].pop(scope, None)
            st.session_state.setdefault(DONE, {})[scope] = ui.t("removals.restored", what=last["label"])
            st.rerun()
