"""The "edited grid → database" decision as a plain function: what to write, what to refuse, when to reset."""

from __future__ import annotations

from assessments.focas import check_score, invalid_cells, stored_score, sync_editor_cells


def check(cell, value):
    check_score(value, scale_min=1, scale_max=4, participant=cell[0], indicator=cell[1])


def test_a_first_edit_is_new_and_expects_what_was_shown():
    sync = sync_editor_cells({("P1", "A"): "3"}, {("P1", "A"): None}, {("P1", "A"): None}, check)
    assert sync.new == {("P1", "A"): "3"}
    assert sync.expected == {("P1", "A"): None}
    assert sync.bad == {} and sync.stale == []


def test_an_edit_already_saved_is_not_sent_again():
    # the editor keeps every edit; once the database holds it, nothing is to do
    sync = sync_editor_cells({("P1", "A"): "3"}, {("P1", "A"): 3}, {("P1", "A"): "3"}, check)
    assert sync.new == {} and sync.stale == [] and sync.bad == {}


def test_editing_the_same_cell_again_expects_the_previous_edit():
    sync = sync_editor_cells({("P1", "A"): "2"}, {("P1", "A"): 3}, {("P1", "A"): "3"}, check)
    assert sync.new == {("P1", "A"): "2"}
    assert sync.expected == {("P1", "A"): "3"}


def test_a_value_replaced_by_someone_else_is_stale():
    # we showed (and saved) 3, someone else saved 1 since: reset the editor rather than resend 3
    sync = sync_editor_cells({("P1", "A"): "3"}, {("P1", "A"): 1}, {("P1", "A"): "3"}, check)
    assert sync.stale == [("P1", "A")]
    assert sync.new == {}


def test_bad_cells_are_reported_and_the_good_ones_still_go():
    edits = {("P1", "A"): "9", ("P2", "A"): "abc", ("P3", "A"): "4", ("P4", "A"): "2.5"}
    stored = {cell: None for cell in edits}
    sync = sync_editor_cells(edits, stored, {}, check)
    assert sync.new == {("P3", "A"): "4"}
    assert {cell: error.key for cell, error in sync.bad.items()} == {
        ("P1", "A"): "focas.grid.off_scale", ("P2", "A"): "focas.grid.not_number",
        ("P4", "A"): "focas.grid.not_integer"}
    # no record of what was shown (first run of a fresh editor): no expectation, so no conflict check
    assert sync.expected == {}


def test_clearing_a_cell_is_an_edit_to_none():
    sync = sync_editor_cells({("P1", "A"): None}, {("P1", "A"): 2}, {("P1", "A"): "2"}, check)
    assert sync.new == {("P1", "A"): None}
    assert sync.expected == {("P1", "A"): "2"}


def test_stored_score_reads_cells_as_the_database_would():
    assert [stored_score(v) for v in (None, "", "  ", "3", 3.0, " 2 ", "2,0", "x", float("nan"))] == [
        None, None, None, 3, 3, 2, 2, "x", None]


def test_invalid_cells_uses_labels_in_messages():
    bad = invalid_cells({"id-1": {"ADM-01": "7", "ADM-02": "2"}}, scale_min=1, scale_max=4, labels={"id-1": "P07"})
    assert list(bad) == [("id-1", "ADM-01")]
    assert bad[("id-1", "ADM-01")].message("en").startswith("P07 · ADM-01: 7 is outside the scale (1 to 4)")
