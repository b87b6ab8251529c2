"""Composition rules for clusters and the GCD, cluster selection ranking and GCD meetings: warnings, never blocks."""

from __future__ import annotations

import math
import numbers
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import pandas as pd

from assessments.errors import ValidationFailed

LEVELS = ("regional", "provincial", "district")
MIN_CLUSTER_DISTRICTS = 3

INSTITUTIONS = (
    "regional_government",
    "provincial_municipality",
    "district_municipality",
    "civil_society",
    "private_sector",
)
GOVERNMENT_INSTITUTIONS = ("regional_government", "provincial_municipality", "district_municipality")
# The plan puts the private sector inside the civil-society quota ("Asimismo, el sector privado").
NON_GOVERNMENT_INSTITUTIONS = ("civil_society", "private_sector")
GCD_MIN_MEMBERS = 10
GCD_MAX_MEMBERS = 12
GCD_REGIONAL = 3
GCD_MIN_PROVINCIAL = 1
GCD_MAX_PROVINCIAL = 2
GCD_DISTRICT = 1
GCD_MAX_CIVIL_SOCIETY = 4

MEETING_KINDS = ("plan", "progress", "annual_results")
RANKING_COLUMNS = ("candidate", "total", "n_scored", "n_missing", "rank")

_NUMBER_TEXT = re.compile(r"[+-]?([0-9]+([.,][0-9]*)?|[.,][0-9]+)")


@dataclass(frozen=True)
class RuleWarning:
    """A broken rule worth showing: a catalog key and its parameters; it never blocks saving."""

    key: str
    params: dict[str, object] = field(default_factory=dict)

    def message(self, lang: str = "es") -> str:
        """The warning's text in ``lang``."""
        from assessments.i18n import translate

        return translate(self.key, lang, **self.params)


def _get(member: object, name: str) -> object:
    """An attribute of a member given as a dict or as an object (e.g. a SQLModel row)."""
    if isinstance(member, Mapping):
        return member.get(name)
    return getattr(member, name, None)


def _codes(ubigeos: Iterable[object]) -> str:
    """UBIGEO codes as one readable, sorted list (str.format cannot join lists itself)."""
    return ", ".join(sorted(str(code) for code in ubigeos))


# --- clusters -------------------------------------------------------------------------------


def _department_of(member: object) -> str | None:
    """The member's department code, else the first 2 digits of its UBIGEO."""
    # Deriving from the UBIGEO keeps the rules working for members typed in with only their code.
    code = _get(member, "department_code") or str(_get(member, "ubigeo") or "")[:2]
    return str(code) if code else None


def _province_of(member: object) -> str | None:
    """The member's province code, else the first 4 digits of its UBIGEO (None for a region)."""
    code = _get(member, "province_code") or str(_get(member, "ubigeo") or "")[:4]
    return str(code) if code and len(str(code)) == 4 else None


def cluster_composition_warnings(*, department_code: str, members: Sequence[object]) -> list[RuleWarning]:
    """Warnings about a cluster's members against the plan's composition rule.

    Rule: the department's regional government, one provincial municipality and at least three
    district municipalities of that province, all inside the department. A member's department
    and province default to the first 2 and 4 digits of its UBIGEO when not given.
    """
    department_code = str(department_code)
    by_level = {level: [m for m in members if _get(m, "level") == level] for level in LEVELS}
    warnings: list[RuleWarning] = []

    own_regional = [m for m in by_level["regional"] if _department_of(m) == department_code]
    if not own_regional:
        warnings.append(RuleWarning("cluster.no_regional", {"department_code": department_code}))
    elif len(own_regional) > 1:
        warnings.append(RuleWarning("cluster.several_regional", {"count": len(own_regional)}))

    provincial = by_level["provincial"]
    if not provincial:
        warnings.append(RuleWarning("cluster.no_provincial", {}))
    elif len(provincial) > 1:
        warnings.append(RuleWarning("cluster.several_provincial", {"count": len(provincial)}))

    districts = by_level["district"]
    if len(districts) < MIN_CLUSTER_DISTRICTS:
        warnings.append(
            RuleWarning("cluster.few_districts", {"count": len(districts), "min": MIN_CLUSTER_DISTRICTS})
        )

    provinces = {_province_of(m) for m in provincial} - {None}
    if provinces:
        outside_province = [_get(m, "ubigeo") for m in districts if _province_of(m) not in provinces]
        if outside_province:
            warnings.append(
                RuleWarning(
                    "cluster.district_outside_province",
                    {"ubigeos": _codes(outside_province), "count": len(outside_province)},
                )
            )

    outside_department = [_get(m, "ubigeo") for m in members if _department_of(m) != department_code]
    if outside_department:
        warnings.append(
            RuleWarning(
                "cluster.outside_department",
                {
                    "ubigeos": _codes(outside_department),
                    "count": len(outside_department),
                    "department_code": department_code,
                },
            )
        )
    return warnings


# --- departmental consultative group (GCD) --------------------------------------------------


@dataclass(frozen=True)
class GcdReport:
    """Who sits on a GCD and which composition rules it breaks."""

    counts: dict[str, int]
    total: int
    government: int
    non_government: int
    women: int
    indigenous: int
    warnings: list[RuleWarning]


def _is_indigenous(value: object) -> bool:
    """Members self-identify as indigenous with "yes" (or True from a checkbox)."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "yes")


def gcd_composition(members: Sequence[object]) -> GcdReport:
    """Counts per institution, women and indigenous members of a GCD, with the plan's warnings.

    Rules (plan, section 2.2): 10-12 members; 3 regional government; 1-2 provincial
    municipalities, one per cluster; 1 district municipality; at most 4 civil-society members
    (private sector included) who never outnumber government members; women and indigenous
    members present.
    """
    institutions = [_get(m, "institution") for m in members]
    unknown = sorted({str(i) for i in institutions if i not in INSTITUTIONS})
    if unknown:
        raise ValueError(f"unknown institutions: {unknown}")
    tally = Counter(institutions)
    counts = {institution: tally.get(institution, 0) for institution in INSTITUTIONS}
    total = len(members)
    government = sum(counts[i] for i in GOVERNMENT_INSTITUTIONS)
    non_government = sum(counts[i] for i in NON_GOVERNMENT_INSTITUTIONS)
    women = sum(1 for m in members if _get(m, "sex") == "female")
    indigenous = sum(1 for m in members if _is_indigenous(_get(m, "indigenous")))

    warnings: list[RuleWarning] = []
    if not GCD_MIN_MEMBERS <= total <= GCD_MAX_MEMBERS:
        warnings.append(RuleWarning("gcd.size", {"count": total, "min": GCD_MIN_MEMBERS, "max": GCD_MAX_MEMBERS}))
    if counts["regional_government"] != GCD_REGIONAL:
        warnings.append(
            RuleWarning("gcd.regional", {"count": counts["regional_government"], "expected": GCD_REGIONAL})
        )
    if not GCD_MIN_PROVINCIAL <= counts["provincial_municipality"] <= GCD_MAX_PROVINCIAL:
        warnings.append(
            RuleWarning(
                "gcd.provincial",
                {"count": counts["provincial_municipality"], "min": GCD_MIN_PROVINCIAL, "max": GCD_MAX_PROVINCIAL},
            )
        )
    per_cluster = Counter(
        _get(m, "cluster_id")
        for m in members
        if _get(m, "institution") == "provincial_municipality" and _get(m, "cluster_id") is not None
    )
    for cluster_id in sorted(per_cluster, key=str):
        if per_cluster[cluster_id] > 1:
            warnings.append(
                RuleWarning("gcd.provincial_per_cluster", {"cluster_id": cluster_id, "count": per_cluster[cluster_id]})
            )
    if counts["district_municipality"] != GCD_DISTRICT:
        warnings.append(
            RuleWarning("gcd.district", {"count": counts["district_municipality"], "expected": GCD_DISTRICT})
        )
    if non_government > GCD_MAX_CIVIL_SOCIETY:
        warnings.append(RuleWarning("gcd.civil_society_max", {"count": non_government, "max": GCD_MAX_CIVIL_SOCIETY}))
    if non_government > government:
        warnings.append(
            RuleWarning("gcd.civil_society_majority", {"count": non_government, "government": government})
        )
    if women == 0:
        warnings.append(RuleWarning("gcd.no_women", {}))
    if indigenous == 0:
        warnings.append(RuleWarning("gcd.no_indigenous", {}))
    return GcdReport(
        counts=counts,
        total=total,
        government=government,
        non_government=non_government,
        women=women,
        indigenous=indigenous,
        warnings=warnings,
    )


# --- cluster selection: weighted criteria ---------------------------------------------------


def _parse_number(value: object, *, not_number_key: str, params: dict[str, object]) -> float:
    """A finite float from a number or typed text (decimal comma accepted), or ValidationFailed."""
    if isinstance(value, bool) or value is None:
        raise ValidationFailed(not_number_key, value=value, **params)
    if isinstance(value, str):
        text = value.strip()
        if not _NUMBER_TEXT.fullmatch(text):
            raise ValidationFailed(not_number_key, value=value, **params)
        number = float(text.replace(",", "."))
    elif isinstance(value, (numbers.Real, Decimal)):
        number = float(value)
    else:
        raise ValidationFailed(not_number_key, value=value, **params)
    if not math.isfinite(number):
        raise ValidationFailed(not_number_key, value=value, **params)
    return number


def validate_weight(value: object) -> float:
    """A criterion weight: any number >= 0 (0 switches the criterion off)."""
    weight = _parse_number(value, not_number_key="selection.weight_not_number", params={})
    if weight < 0:
        raise ValidationFailed("selection.weight_negative", value=weight)
    return weight


def validate_criterion_score(value: object, *, scale_min: float, scale_max: float) -> float:
    """A candidate's score on one selection criterion, within the criterion's scale."""
    bounds = {"min": scale_min, "max": scale_max}
    score = _parse_number(value, not_number_key="selection.score_not_number", params=bounds)
    if not scale_min <= score <= scale_max:
        raise ValidationFailed("selection.score_off_scale", value=score, **bounds)
    return score


def rank_candidates(scores: pd.DataFrame, weights: Mapping[str, float]) -> pd.DataFrame:
    """Candidate provinces or districts ranked by weighted score, best first.

    total = sum(weight × score) / sum(weights of the criteria the candidate was scored on), i.e.
    a weighted mean on the criteria's scale, so a missing score neither counts as zero nor as
    average. ``n_scored``/``n_missing`` count the weighted criteria with/without a score (NaN or
    no row). Criteria without a weight are ignored. total is NaN when no weighted criterion is
    scored (or all their weights are 0); such candidates go last with no rank. Sorted by total
    descending, then candidate; ``rank`` is 1-based, ties share the lowest rank ("min").
    Columns: candidate, total, n_scored, n_missing, rank (Int64).
    """
    missing_columns = [c for c in ("candidate", "criterion", "score") if c not in scores.columns]
    if missing_columns:
        raise ValueError(f"missing columns: {missing_columns}")
    if scores.duplicated(["candidate", "criterion"]).any():
        raise ValueError("several scores for one candidate and criterion")
    criteria = list(weights)
    candidates = list(pd.unique(scores["candidate"]))
    frame = scores.loc[scores["criterion"].isin(criteria), ["candidate", "criterion", "score"]].copy()
    frame["score"] = pd.to_numeric(frame["score"]).astype("float64")
    frame = frame.loc[frame["score"].notna()]
    frame["weight"] = frame["criterion"].map(weights).astype("float64")
    frame["weighted"] = frame["weight"] * frame["score"]
    sums = frame.groupby("candidate", sort=False).agg(
        weighted=("weighted", "sum"), weight=("weight", "sum"), n_scored=("score", "count")
    )
    table = pd.DataFrame({"candidate": candidates}).astype({"candidate": scores["candidate"].dtype})
    table = table.merge(sums.reset_index(), on="candidate", how="left")
    table["n_scored"] = table["n_scored"].fillna(0).astype("int64")
    table["n_missing"] = (len(criteria) - table["n_scored"]).astype("int64")
    # A weight sum of 0 would divide by zero: no weighted evidence, so no total.
    table["total"] = (table["weighted"] / table["weight"].where(table["weight"] > 0)).astype("float64")
    table = table.sort_values(["total", "candidate"], ascending=[False, True], na_position="last", kind="stable")
    table["rank"] = table["total"].rank(method="min", ascending=False).astype("Int64")
    return table.loc[:, list(RANKING_COLUMNS)].reset_index(drop=True)


# --- GCD meetings ---------------------------------------------------------------------------


def missing_meetings(
    meetings: Iterable[tuple[int, str]], *, years: Iterable[int], kinds: Sequence[str] = MEETING_KINDS
) -> list[tuple[int, str]]:
    """The (year, kind) GCD meetings not held yet: three a year (plan, progress, annual results)."""
    held = {(int(year), str(kind)) for year, kind in meetings}
    return [(year, kind) for year in sorted(set(years)) for kind in kinds if (year, kind) not in held]
