"""Cluster and GCD composition warnings, cluster selection ranking and GCD meetings."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from babel.messages.pofile import read_po

from assessments.errors import ValidationFailed
from assessments.rules import (
    GcdReport,
    RuleWarning,
    cluster_composition_warnings,
    gcd_composition,
    missing_meetings,
    rank_candidates,
    validate_criterion_score,
    validate_weight,
)

ROOT = Path(__file__).resolve().parent.parent
KEY_PATTERN = re.compile(r"""["']((?:score|rating|selection|cluster|gcd)\.[a-z_]+)["']""")
SAN_MARTIN = "22"


def po_messages(lang: str) -> dict[str, str]:
    """The entries of this capability's catalog file (rules.po) for one language."""
    with (ROOT / "locale" / lang / "LC_MESSAGES" / "rules.po").open("rb") as handle:
        return {str(m.id): str(m.string) for m in read_po(handle, locale=lang) if m.id}


def government(level: str, ubigeo: str, **extra) -> dict:
    """A cluster member as the pages pass it: level, UBIGEO and the codes derived from it."""
    member = {
        "level": level,
        "ubigeo": ubigeo,
        "department_code": ubigeo[:2],
        "province_code": None if level == "regional" else ubigeo[:4],
    }
    member.update(extra)
    return member


def keys(warnings: list[RuleWarning]) -> list[str]:
    return [warning.key for warning in warnings]


# --- cluster composition --------------------------------------------------------------------


def test_a_complete_cluster_has_no_warnings():
    members = [
        government("regional", "22"),
        government("provincial", "2205"),
        government("district", "220505"),
        government("district", "220510"),
        government("district", "220511"),
    ]
    assert cluster_composition_warnings(department_code=SAN_MARTIN, members=members) == []


def test_a_cluster_around_a_provincial_capital_has_few_districts():
    # Lamas: the capital district is governed by the provincial municipality, leaving two districts.
    members = [
        government("regional", "22"),
        government("provincial", "2205"),
        government("district", "220505"),
        government("district", "220510"),
    ]
    assert cluster_composition_warnings(department_code=SAN_MARTIN, members=members) == [
        RuleWarning("cluster.few_districts", {"count": 2, "min": 3})
    ]


def test_a_cluster_spanning_two_provinces_names_the_outside_districts():
    # Moyobamba with Awajún from Rioja, as in the first-wave proposal.
    members = [
        government("regional", "22"),
        government("provincial", "2201"),
        government("district", "220104"),
        government("district", "220105"),
        government("district", "220802"),
    ]
    assert cluster_composition_warnings(department_code=SAN_MARTIN, members=members) == [
        RuleWarning("cluster.district_outside_province", {"ubigeos": "220802", "count": 1})
    ]


def test_an_empty_cluster_misses_everything():
    assert cluster_composition_warnings(department_code=SAN_MARTIN, members=[]) == [
        RuleWarning("cluster.no_regional", {"department_code": "22"}),
        RuleWarning("cluster.no_provincial", {}),
        RuleWarning("cluster.few_districts", {"count": 0, "min": 3}),
    ]


def test_another_departments_regional_government_does_not_count():
    members = [
        government("regional", "01"),
        government("provincial", "2205"),
        government("district", "220505"),
        government("district", "220510"),
        government("district", "220511"),
    ]
    assert cluster_composition_warnings(department_code=SAN_MARTIN, members=members) == [
        RuleWarning("cluster.no_regional", {"department_code": "22"}),
        RuleWarning("cluster.outside_department", {"ubigeos": "01", "count": 1, "department_code": "22"}),
    ]


def test_several_provincial_and_regional_members_are_counted():
    members = [
        government("regional", "22"),
        government("regional", "22"),
        government("provincial", "2201"),
        government("provincial", "2208"),
        government("district", "220104"),
        government("district", "220105"),
        government("district", "220802"),
    ]
    # Districts of either provincial municipality's province are inside.
    assert cluster_composition_warnings(department_code=SAN_MARTIN, members=members) == [
        RuleWarning("cluster.several_regional", {"count": 2}),
        RuleWarning("cluster.several_provincial", {"count": 2}),
    ]


def test_members_outside_the_department_are_listed_sorted():
    members = [
        government("regional", "22"),
        government("provincial", "2205"),
        government("district", "220505"),
        government("district", "250101"),
        government("district", "160201"),
    ]
    assert cluster_composition_warnings(department_code=SAN_MARTIN, members=members) == [
        RuleWarning("cluster.district_outside_province", {"ubigeos": "160201, 250101", "count": 2}),
        RuleWarning("cluster.outside_department", {"ubigeos": "160201, 250101", "count": 2, "department_code": "22"}),
    ]


def test_cluster_members_can_be_objects_with_codes_derived_from_ubigeo():
    members = [
        SimpleNamespace(level="regional", ubigeo="22"),
        SimpleNamespace(level="provincial", ubigeo="2205"),
        SimpleNamespace(level="district", ubigeo="220505"),
        SimpleNamespace(level="district", ubigeo="220510"),
        SimpleNamespace(level="district", ubigeo="220801"),
    ]
    assert keys(cluster_composition_warnings(department_code=SAN_MARTIN, members=members)) == [
        "cluster.district_outside_province"
    ]


# --- GCD composition ------------------------------------------------------------------------


def gcd_member(institution: str, *, sex: str = "male", indigenous: str = "no", cluster_id: int | None = None) -> dict:
    return {"institution": institution, "sex": sex, "indigenous": indigenous, "cluster_id": cluster_id}


def valid_gcd() -> list[dict]:
    """Ten members as the plan describes them: 3 GR, 2 GLP (one per cluster), 1 GLD, 4 civil society."""
    return [
        gcd_member("regional_government", sex="female"),
        gcd_member("regional_government"),
        gcd_member("regional_government"),
        gcd_member("provincial_municipality", cluster_id=1),
        gcd_member("provincial_municipality", cluster_id=2, sex="female"),
        gcd_member("district_municipality", indigenous="yes"),
        gcd_member("civil_society", sex="female", indigenous="yes"),
        gcd_member("civil_society"),
        gcd_member("civil_society"),
        gcd_member("private_sector"),
    ]


def test_a_gcd_as_planned_has_counts_and_no_warnings():
    assert gcd_composition(valid_gcd()) == GcdReport(
        counts={
            "regional_government": 3,
            "provincial_municipality": 2,
            "district_municipality": 1,
            "civil_society": 3,
            "private_sector": 1,
        },
        total=10,
        government=6,
        non_government=4,
        women=3,
        indigenous=2,
        warnings=[],
    )


def test_a_gcd_of_nine_is_too_small():
    members = valid_gcd()[:-1]
    assert gcd_composition(members).warnings == [RuleWarning("gcd.size", {"count": 9, "min": 10, "max": 12})]


def test_a_gcd_with_thirteen_members_is_too_large():
    members = valid_gcd() + [gcd_member("regional_government")] * 2 + [gcd_member("district_municipality")]
    assert keys(gcd_composition(members).warnings) == ["gcd.size", "gcd.regional", "gcd.district"]
    assert gcd_composition(members).warnings[0].params == {"count": 13, "min": 10, "max": 12}


def test_gcd_regional_and_district_counts_are_exact():
    members = valid_gcd()
    members[1] = gcd_member("district_municipality")  # 2 GR, 2 GLD
    assert gcd_composition(members).warnings == [
        RuleWarning("gcd.regional", {"count": 2, "expected": 3}),
        RuleWarning("gcd.district", {"count": 2, "expected": 1}),
    ]


@pytest.mark.parametrize(("provincial", "warned"), [(0, True), (1, False), (2, False), (3, True)])
def test_gcd_has_one_or_two_provincial_members(provincial, warned):
    base = [m for m in valid_gcd() if m["institution"] != "provincial_municipality"]
    members = base + [gcd_member("provincial_municipality", cluster_id=n) for n in range(provincial)]
    members += [gcd_member("regional_government")] * max(0, 10 - len(members))  # keep the size rule quiet
    found = [w for w in gcd_composition(members).warnings if w.key == "gcd.provincial"]
    assert found == ([RuleWarning("gcd.provincial", {"count": provincial, "min": 1, "max": 2})] if warned else [])


def test_gcd_has_one_provincial_member_per_cluster():
    members = valid_gcd()
    members[4] = gcd_member("provincial_municipality", cluster_id=1, sex="female")
    members.append(gcd_member("provincial_municipality", cluster_id=None))  # no cluster yet: not counted
    warnings = gcd_composition(members).warnings
    assert RuleWarning("gcd.provincial_per_cluster", {"cluster_id": 1, "count": 2}) in warnings
    assert keys(warnings) == ["gcd.provincial", "gcd.provincial_per_cluster"]


def test_gcd_civil_society_with_private_sector_is_at_most_four():
    members = valid_gcd() + [gcd_member("private_sector")]
    assert gcd_composition(members).warnings == [RuleWarning("gcd.civil_society_max", {"count": 5, "max": 4})]


def test_gcd_civil_society_never_outnumbers_governments():
    members = [gcd_member("regional_government", sex="female", indigenous="yes")] * 3 + [
        gcd_member("civil_society")
    ] * 4
    warnings = gcd_composition(members).warnings
    assert RuleWarning("gcd.civil_society_majority", {"count": 4, "government": 3}) in warnings
    assert "gcd.civil_society_max" not in keys(warnings)


def test_gcd_without_women_or_indigenous_members_is_warned():
    members = [{**m, "sex": "male", "indigenous": "undisclosed"} for m in valid_gcd()]
    report = gcd_composition(members)
    assert (report.women, report.indigenous) == (0, 0)
    assert keys(report.warnings) == ["gcd.no_women", "gcd.no_indigenous"]


def test_an_empty_gcd():
    report = gcd_composition([])
    assert report.total == 0 and report.counts["civil_society"] == 0
    assert keys(report.warnings) == [
        "gcd.size",
        "gcd.regional",
        "gcd.provincial",
        "gcd.district",
        "gcd.no_women",
        "gcd.no_indigenous",
    ]


def test_gcd_members_can_be_objects_and_indigenous_a_boolean():
    members = [SimpleNamespace(**m) for m in valid_gcd()]
    members[0].indigenous = True
    assert gcd_composition(members).indigenous == 3


def test_gcd_refuses_unknown_institutions():
    with pytest.raises(ValueError, match="church"):
        gcd_composition([gcd_member("church")])


# --- selection: weights, scores and ranking -------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"), [(2, 2.0), (0, 0.0), ("1,5", 1.5), (" 0.25 ", 0.25), (np.float64(3), 3.0)]
)
def test_validate_weight_accepts_numbers_from_zero(value, expected):
    assert validate_weight(value) == expected


@pytest.mark.parametrize("value", ["", "alto", True, None, float("nan"), float("inf"), "1e3"])
def test_validate_weight_rejects_what_is_not_a_number(value):
    with pytest.raises(ValidationFailed) as caught:
        validate_weight(value)
    assert caught.value.key == "selection.weight_not_number"


@pytest.mark.parametrize("value", [-1, "-0,5"])
def test_validate_weight_rejects_negative_weights(value):
    with pytest.raises(ValidationFailed) as caught:
        validate_weight(value)
    assert caught.value.key == "selection.weight_negative"


@pytest.mark.parametrize(("value", "expected"), [(1, 1.0), (5, 5.0), ("2,5", 2.5), (3.25, 3.25)])
def test_validate_criterion_score_accepts_the_scale(value, expected):
    assert validate_criterion_score(value, scale_min=1, scale_max=5) == expected


def test_validate_criterion_score_rejects_bad_input():
    with pytest.raises(ValidationFailed) as caught:
        validate_criterion_score("x", scale_min=1, scale_max=5)
    assert caught.value.key == "selection.score_not_number"
    with pytest.raises(ValidationFailed) as caught:
        validate_criterion_score(6, scale_min=1, scale_max=5)
    assert (caught.value.key, caught.value.params) == ("selection.score_off_scale", {"value": 6.0, "min": 1, "max": 5})


def test_rank_candidates_by_weighted_mean_of_scored_criteria():
    weights = {"density": 2, "gaps": 1, "will": 1}
    scores = pd.DataFrame(
        [
            ("Lamas", "density", 4),
            ("Lamas", "gaps", 3),
            ("Lamas", "will", 5),
            ("Rioja", "density", 5),
            ("Rioja", "gaps", 2),
            ("Rioja", "will", np.nan),
            ("Condorcanqui", "gaps", 5),
            ("Datem", "security", 5),  # a criterion without a weight is ignored
            ("Alto Amazonas", "density", 1),
            ("Alto Amazonas", "gaps", 1),
            ("Alto Amazonas", "will", 1),
        ],
        columns=["candidate", "criterion", "score"],
    )
    # Lamas (2*4 + 3 + 5) / 4 = 4; Rioja (2*5 + 2) / 3 = 4; Condorcanqui 5 / 1 = 5.
    expected = pd.DataFrame(
        {
            "candidate": ["Condorcanqui", "Lamas", "Rioja", "Alto Amazonas", "Datem"],
            "total": [5.0, 4.0, 4.0, 1.0, np.nan],
            "n_scored": [1, 3, 2, 3, 0],
            "n_missing": [2, 0, 1, 0, 3],
            "rank": pd.array([1, 2, 2, 4, pd.NA], dtype="Int64"),
        }
    )
    pd.testing.assert_frame_equal(rank_candidates(scores, weights), expected)


def test_rank_candidates_with_only_zero_weights_has_no_total():
    scores = pd.DataFrame({"candidate": ["A", "B"], "criterion": ["x", "x"], "score": [3.0, 4.0]})
    result = rank_candidates(scores, {"x": 0})
    assert result["candidate"].tolist() == ["A", "B"]
    assert result["total"].isna().all() and result["rank"].isna().all()


def test_rank_candidates_of_nothing_and_of_duplicates():
    empty = rank_candidates(pd.DataFrame({"candidate": [], "criterion": [], "score": []}), {"x": 1})
    assert list(empty.columns) == ["candidate", "total", "n_scored", "n_missing", "rank"] and empty.empty
    duplicated = pd.DataFrame({"candidate": ["A", "A"], "criterion": ["x", "x"], "score": [1, 2]})
    with pytest.raises(ValueError, match="several"):
        rank_candidates(duplicated, {"x": 1})


# --- GCD meetings ---------------------------------------------------------------------------


def test_missing_meetings_lists_each_year_and_kind_not_held():
    held = [(2013, "plan"), (2013, "progress"), (2014, "plan"), (2012, "plan")]
    assert missing_meetings(held, years=[2014, 2013]) == [
        (2013, "annual_results"),
        (2014, "progress"),
        (2014, "annual_results"),
    ]


def test_missing_meetings_with_custom_kinds_and_no_years():
    assert missing_meetings([], years=[2015], kinds=("plan",)) == [(2015, "plan")]
    assert missing_meetings([(2015, "plan")], years=[]) == []


# --- catalog --------------------------------------------------------------------------------


def every_rules_warning() -> list[RuleWarning]:
    """At least one warning of every key rules.py can return."""
    clusters = [
        [],
        [government("regional", "22"), government("regional", "22")],
        [government("provincial", "2201"), government("provincial", "2208"), government("district", "250101")],
    ]
    warnings = [w for members in clusters for w in cluster_composition_warnings(department_code="22", members=members)]
    gcds = [
        [],
        [gcd_member("provincial_municipality", cluster_id=1)] * 3 + [gcd_member("civil_society")] * 10,
    ]
    return warnings + [w for members in gcds for w in gcd_composition(members).warnings]


def every_rules_error() -> list[ValidationFailed]:
    """One error of every key rules.py can raise."""
    attempts = [
        lambda: validate_weight("x"),
        lambda: validate_weight(-2),
        lambda: validate_criterion_score("x", scale_min=1, scale_max=5),
        lambda: validate_criterion_score(7, scale_min=1, scale_max=5),
    ]
    errors = []
    for attempt in attempts:
        with pytest.raises(ValidationFailed) as caught:
            attempt()
        errors.append(caught.value)
    return errors


def test_every_key_in_rules_is_in_both_catalogs():
    source_keys = set(KEY_PATTERN.findall((ROOT / "assessments" / "rules.py").read_text(encoding="utf-8")))
    produced = {w.key for w in every_rules_warning()} | {e.key for e in every_rules_error()}
    assert produced == source_keys  # the helpers above really exercise every key
    for lang in ("es", "en"):
        assert source_keys <= set(po_messages(lang)), lang


@pytest.mark.parametrize("lang", ["es", "en"])
def test_every_rules_message_formats_with_its_params(lang):
    for item in [*every_rules_warning(), *every_rules_error()]:
        text = item.message(lang)
        assert text != item.key and "{" not in text, (item.key, text)


def test_both_catalogs_hold_the_same_keys_and_placeholders():
    spanish, english = po_messages("es"), po_messages("en")
    assert spanish.keys() == english.keys()
    for key in spanish:
        assert set(re.findall(r"{(\w+)}", spanish[key])) == set(re.findall(r"{(\w+)}", english[key])), key


def test_rules_never_import_streamlit():
    assert "streamlit" not in (ROOT / "assessments" / "rules.py").read_text(encoding="utf-8")
