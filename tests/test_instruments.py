"""The shipped FOCAS and QSIP instruments, and the rules the loader enforces on any instrument."""

from __future__ import annotations

import copy
import json
import re
import string
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

import assessments.instruments as instruments
from assessments.errors import NotFound, ValidationFailed
from assessments.instruments import (
    DEFAULT_FOCAS_PATH,
    DEFAULT_QSIP_PATH,
    MANDATORY_AREA_CODES,
    QSIP_DIMENSION_CODES,
    FocasInstrument,
    QsipInstrument,
    Text,
    load_focas,
    load_qsip,
    parse_focas,
    parse_qsip,
)

ROOT = Path(__file__).resolve().parent.parent
AREA_CODES = ["ADM", "HR", "REV", "PLAN", "BUDG", "PROC", "CPART", "SERV", "LEGALPART", "DIVERSITY"]
ITEM_PREFIXES = {"effectiveness": "EFT", "efficiency": "EFC", "coverage": "COV", "satisfaction": "SAT"}


def raw_focas() -> dict:
    return json.loads(DEFAULT_FOCAS_PATH.read_text(encoding="utf-8"))


def raw_qsip() -> dict:
    return json.loads(DEFAULT_QSIP_PATH.read_text(encoding="utf-8"))


def po_messages(lang: str) -> dict[str, str]:
    with (ROOT / "locale" / lang / "LC_MESSAGES" / "instruments.po").open("rb") as handle:
        return {str(m.id): str(m.string) for m in read_po(handle, locale=lang) if m.id}


def raised_keys() -> set[str]:
    source = Path(instruments.__file__).read_text(encoding="utf-8")
    return set(re.findall(r"""["'](instrument\.[a-z_]+)["']""", source))


# --------------------------------------------------------------------------------------------
# The shipped FOCAS instrument
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def focas() -> FocasInstrument:
    return load_focas()


@pytest.fixture(scope="module")
def qsip() -> QsipInstrument:
    return load_qsip()


def test_shipped_focas_loads(focas):
    assert isinstance(focas, FocasInstrument)
    assert (focas.kind, focas.code, focas.version) == ("focas", "FOCAS", 1)
    assert (focas.scale_min, focas.scale_max) == (1, 4)
    assert [level.level for level in focas.levels] == [1, 2, 3, 4]
    assert focas.levels[0].name == Text(es="Incipiente", en="Incipient")
    assert list(focas.scale()) == [1, 2, 3, 4]


def test_exactly_the_ten_areas_in_order(focas):
    assert focas.area_codes() == AREA_CODES
    assert [area.code for area in focas.areas] == AREA_CODES


def test_mandatory_areas_are_flagged(focas):
    assert {area.code for area in focas.mandatory_areas()} == set(MANDATORY_AREA_CODES)
    assert set(MANDATORY_AREA_CODES) == {"LEGALPART", "DIVERSITY"}
    for code in AREA_CODES:
        assert focas.area(code).mandatory is (code in MANDATORY_AREA_CODES)


def test_each_area_has_three_to_six_indicators_coded_after_it(focas):
    for area in focas.areas:
        assert 3 <= len(area.indicators) <= 6, area.code
        assert area.indicator_codes() == [f"{area.code}-{n:02d}" for n in range(1, len(area.indicators) + 1)]
        assert re.fullmatch(r"[A-Z]+", area.code)


def test_every_indicator_has_four_distinct_bilingual_descriptors(focas):
    for area in focas.areas:
        for indicator in area.indicators:
            assert sorted(indicator.descriptors) == [1, 2, 3, 4], indicator.code
            for lang in ("es", "en"):
                texts = [indicator.descriptors[level].get(lang) for level in range(1, 5)]
                assert all(text.strip() for text in texts), (indicator.code, lang)
                assert len(set(texts)) == 4, (indicator.code, lang)
            for text in indicator.descriptors.values():
                assert text.es != text.en, indicator.code


def test_no_descriptor_is_reused_anywhere(focas):
    for lang in ("es", "en"):
        texts = [
            text.get(lang)
            for area in focas.areas
            for indicator in area.indicators
            for text in indicator.descriptors.values()
        ]
        assert len(texts) == len(set(texts)), lang


def test_texts_are_complete_and_not_placeholders(focas, qsip):
    placeholder = re.compile(r"(?i:lorem|ipsum|\bxxx\b|\.\.\.)|\b(?:TODO|TBD|FIXME)\b")
    texts = [focas.name, qsip.name]
    for area in focas.areas:
        texts += [area.name, area.description]
        for indicator in area.indicators:
            texts += [indicator.name, *indicator.descriptors.values()]
    for dimension in qsip.dimensions:
        texts += [dimension.name, dimension.description, *(item.text for item in dimension.items)]
    texts += [text for stage in qsip.stages for text in (stage.name, stage.description)]
    for text in texts:
        for lang in ("es", "en"):
            assert len(text.get(lang)) >= 3
            assert not placeholder.search(text.get(lang)), text


def test_lookup_helpers(focas):
    assert focas.area("SERV").name.get("en") == "Management of the cluster's selected service"
    assert focas.indicator("LEGALPART-02").descriptor(3).get("es").startswith("Proceso completo")
    assert focas.area_of("DIVERSITY-01").code == "DIVERSITY"
    assert focas.indicator_codes()[0] == "ADM-01"
    codes = focas.indicator_codes()
    assert len(codes) == len(set(codes)) == sum(len(area.indicators) for area in focas.areas)
    assert focas.level(4).name.get("es") == "Consolidado"
    with pytest.raises(NotFound, match="instrument.unknown_area"):
        focas.area("NOPE")
    with pytest.raises(NotFound, match="instrument.unknown_indicator"):
        focas.indicator("ADM-99")
    with pytest.raises(NotFound, match="instrument.unknown_level"):
        focas.level(5)


def test_text_get_language_and_fallback():
    text = Text(es="hola", en="hello")
    assert text.get("es") == "hola"
    assert text.get("en") == "hello"
    assert text.get("fr") == "hola"
    assert text.get(None) == "hola"
    assert Text(es="hola", en="").get("en") == "hola"


def test_instruments_are_frozen_and_hashable(focas, qsip):
    with pytest.raises(AttributeError):
        focas.version = 2  # type: ignore[misc]
    assert hash(focas) == hash(load_focas())
    assert hash(qsip) == hash(load_qsip())
    assert focas == load_focas()


def test_round_trip_matches_the_file(focas, qsip):
    assert focas.to_dict() == raw_focas()
    assert qsip.to_dict() == raw_qsip()
    assert parse_focas(focas.to_dict()) == focas
    assert parse_qsip(qsip.to_dict()) == qsip


def test_load_from_another_path_and_version(tmp_path):
    data = raw_focas()
    data["version"] = 2
    data["areas"][0]["indicators"][0]["descriptors"]["1"]["es"] = "  Sin ROF.  "
    path = tmp_path / "focas_v2.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    loaded = load_focas(path)
    assert loaded.version == 2
    assert loaded.indicator("ADM-01").descriptor(1).es == "Sin ROF."
    assert load_focas(str(path)) == loaded


def test_broken_files_are_reported(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"kind": "focas",', encoding="utf-8")
    with pytest.raises(ValidationFailed, match="instrument.invalid_json"):
        load_focas(bad)
    with pytest.raises(ValidationFailed, match="instrument.unreadable_file"):
        load_qsip(tmp_path / "missing.json")


def test_loader_never_imports_streamlit():
    code = (
        "import sys, assessments.instruments as m; m.load_focas(); m.load_qsip(); "
        "assert 'streamlit' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


# --------------------------------------------------------------------------------------------
# The shipped QSIP instrument
# --------------------------------------------------------------------------------------------


def test_shipped_qsip_loads(qsip):
    assert isinstance(qsip, QsipInstrument)
    assert (qsip.kind, qsip.code, qsip.version) == ("qsip", "QSIP", 1)
    assert (qsip.scale_min, qsip.scale_max) == (1, 5)
    assert [level.level for level in qsip.levels] == [1, 2, 3, 4, 5]
    assert qsip.level(1).name == Text(es="Muy malo", en="Very poor")
    assert qsip.level(5).name.get("en") == "Very good"


def test_qsip_has_five_numbered_stages(qsip):
    assert [stage.number for stage in qsip.stages] == [1, 2, 3, 4, 5]
    assert qsip.stage(1).name.get("en") == "Preparation and service selection"
    assert qsip.stage(2).name.get("en") == "Participatory service audit"
    assert qsip.stage(5).name.get("en") == "Validation of results"
    with pytest.raises(NotFound, match="instrument.unknown_stage"):
        qsip.stage(6)


def test_qsip_has_the_four_dimensions_with_rated_items(qsip):
    assert [dimension.code for dimension in qsip.dimensions] == list(QSIP_DIMENSION_CODES)
    assert list(QSIP_DIMENSION_CODES) == ["effectiveness", "efficiency", "coverage", "satisfaction"]
    for dimension in qsip.dimensions:
        assert 2 <= len(dimension.items) <= 3, dimension.code
        prefix = ITEM_PREFIXES[dimension.code]
        assert dimension.item_codes() == [f"{prefix}-{n:02d}" for n in range(1, len(dimension.items) + 1)]
        for item in dimension.items:
            assert item.text.es and item.text.en and item.text.es != item.text.en
    assert qsip.item("SAT-01").text.get("es").startswith("El personal")
    assert qsip.dimension_of("COV-02").code == "coverage"
    assert qsip.dimension("efficiency").name.get("es") == "Eficiencia"
    assert len(qsip.item_codes()) == len(set(qsip.item_codes()))
    with pytest.raises(NotFound, match="instrument.unknown_item"):
        qsip.item("XYZ-01")
    with pytest.raises(NotFound, match="instrument.unknown_dimension"):
        qsip.dimension("equity")


# --------------------------------------------------------------------------------------------
# Validation rules (each on a mutated copy of a shipped file)
# --------------------------------------------------------------------------------------------


def _area(data: dict, code: str) -> dict:
    return next(area for area in data["areas"] if area["code"] == code)


def _dimension(data: dict, code: str) -> dict:
    return next(dimension for dimension in data["dimensions"] if dimension["code"] == code)


def _extra_indicator(area: dict, number: int) -> dict:
    indicator = copy.deepcopy(area["indicators"][0])
    indicator["code"] = f"{area['code']}-{number:02d}"
    return indicator


def dup_area(d):
    _area(d, "HR")["code"] = "ADM"


def dup_indicator_same_area(d):
    _area(d, "ADM")["indicators"][1]["code"] = "ADM-01"


def dup_indicator_across_areas(d):
    _area(d, "HR")["indicators"][0]["code"] = "ADM-01"


def missing_level(d):
    del _area(d, "REV")["indicators"][0]["descriptors"]["3"]


def level_above_scale(d):
    _area(d, "PLAN")["indicators"][0]["descriptors"]["5"] = {"es": "Más allá", "en": "Beyond"}


def level_below_scale(d):
    _area(d, "PLAN")["indicators"][0]["descriptors"]["0"] = {"es": "Nada", "en": "Nothing"}


def level_not_a_number(d):
    _area(d, "PLAN")["indicators"][0]["descriptors"]["alto"] = {"es": "Alto", "en": "High"}


def missing_es_descriptor(d):
    del _area(d, "BUDG")["indicators"][0]["descriptors"]["2"]["es"]


def blank_en_descriptor(d):
    _area(d, "BUDG")["indicators"][0]["descriptors"]["2"]["en"] = "   "


def missing_en_area_name(d):
    del _area(d, "PROC")["name"]["en"]


def missing_es_area_description(d):
    _area(d, "PROC")["description"]["es"] = ""


def missing_indicator_name(d):
    del _area(d, "SERV")["indicators"][0]["name"]


def missing_level_name(d):
    d["scale"]["levels"][0]["name"]["en"] = ""


def missing_instrument_name(d):
    d["name"] = {"es": "FOCAS"}


def no_legalpart(d):
    d["areas"] = [area for area in d["areas"] if area["code"] != "LEGALPART"]


def diversity_not_mandatory(d):
    _area(d, "DIVERSITY")["mandatory"] = False


def renamed_mandatory(d):
    _area(d, "LEGALPART")["code"] = "LEGAL"


def two_indicators(d):
    _area(d, "ADM")["indicators"] = _area(d, "ADM")["indicators"][:2]


def seven_indicators(d):
    area = _area(d, "HR")
    area["indicators"] += [_extra_indicator(area, n) for n in range(5, 8)]


def no_indicators(d):
    _area(d, "CPART")["indicators"] = []


def lowercase_area_code(d):
    _area(d, "ADM")["code"] = "adm"


def accented_indicator_code(d):
    _area(d, "ADM")["indicators"][0]["code"] = "ADMÍN-01"


def wrong_kind(d):
    d["kind"] = "qsip"


def zero_version(d):
    d["version"] = 0


def text_version(d):
    d["version"] = "1"


def inverted_scale(d):
    d["scale"]["min"], d["scale"]["max"] = 4, 1


def level_names_off_scale(d):
    d["scale"]["levels"][3]["level"] = 5


def mandatory_not_boolean(d):
    _area(d, "DIVERSITY")["mandatory"] = "yes"


def areas_not_a_list(d):
    d["areas"] = {"ADM": {}}


FOCAS_CASES = [
    (dup_area, "instrument.duplicate_code", "ADM"),
    (dup_indicator_same_area, "instrument.duplicate_code", "ADM-01"),
    (dup_indicator_across_areas, "instrument.duplicate_code", "ADM-01"),
    (missing_level, "instrument.missing_descriptor", "REV-01"),
    (level_above_scale, "instrument.descriptor_out_of_scale", "PLAN-01"),
    (level_below_scale, "instrument.descriptor_out_of_scale", "PLAN-01"),
    (level_not_a_number, "instrument.descriptor_out_of_scale", "alto"),
    (missing_es_descriptor, "instrument.missing_text", "BUDG-01"),
    (blank_en_descriptor, "instrument.missing_text", "BUDG-01"),
    (missing_en_area_name, "instrument.missing_text", "PROC"),
    (missing_es_area_description, "instrument.missing_text", "PROC"),
    (missing_indicator_name, "instrument.missing_text", "SERV-01"),
    (missing_level_name, "instrument.missing_text", "scale"),
    (missing_instrument_name, "instrument.missing_text", "name"),
    (no_legalpart, "instrument.mandatory_area", "LEGALPART"),
    (diversity_not_mandatory, "instrument.mandatory_area", "DIVERSITY"),
    (renamed_mandatory, "instrument.mandatory_area", "LEGALPART"),
    (two_indicators, "instrument.indicator_count", "ADM"),
    (seven_indicators, "instrument.indicator_count", "HR"),
    (no_indicators, "instrument.indicator_count", "CPART"),
    (lowercase_area_code, "instrument.invalid_code", "adm"),
    (accented_indicator_code, "instrument.invalid_code", "ADMÍN-01"),
    (wrong_kind, "instrument.wrong_kind", "qsip"),
    (zero_version, "instrument.invalid_version", "0"),
    (text_version, "instrument.invalid_version", "1"),
    (inverted_scale, "instrument.invalid_scale", "4"),
    (level_names_off_scale, "instrument.invalid_levels", "1"),
    (mandatory_not_boolean, "instrument.wrong_type", "DIVERSITY"),
    (areas_not_a_list, "instrument.wrong_type", "areas"),
]


@pytest.mark.parametrize(("mutate", "key", "mentioned"), FOCAS_CASES, ids=[case[0].__name__ for case in FOCAS_CASES])
def test_focas_rule_enforced(mutate, key, mentioned):
    data = raw_focas()
    mutate(data)
    with pytest.raises(ValidationFailed, match=re.escape(key)) as caught:
        parse_focas(data)
    error = caught.value
    assert error.key == key
    assert mentioned in " ".join(str(value) for value in error.params.values())
    for lang in ("es", "en"):
        message = error.message(lang)
        assert message != key and "{" not in message, message


def test_seven_indicators_is_one_too_many_but_six_is_fine():
    data = raw_focas()
    area = _area(data, "HR")
    area["indicators"] += [_extra_indicator(area, n) for n in range(5, 7)]
    assert len(parse_focas(data).area("HR").indicators) == 6


def test_extra_mandatory_areas_and_another_scale_are_allowed():
    data = raw_focas()
    _area(data, "ADM")["mandatory"] = True
    data["scale"] = {
        "min": 1,
        "max": 3,
        "levels": [{"level": n, "name": {"es": f"Nivel {n}", "en": f"Level {n}"}} for n in (1, 2, 3)],
    }
    for area in data["areas"]:
        for indicator in area["indicators"]:
            del indicator["descriptors"]["4"]
    focas = parse_focas(data)
    assert len(focas.mandatory_areas()) == 3
    assert list(focas.scale()) == [1, 2, 3]


def test_python_int_descriptor_keys_are_accepted():
    data = raw_focas()
    indicator = _area(data, "ADM")["indicators"][0]
    indicator["descriptors"] = {int(level): text for level, text in indicator["descriptors"].items()}
    assert sorted(parse_focas(data).indicator("ADM-01").descriptors) == [1, 2, 3, 4]


def test_the_caller_dict_is_not_modified():
    data = raw_focas()
    before = copy.deepcopy(data)
    parse_focas(data)
    assert data == before


def dup_item(d):
    _dimension(d, "coverage")["items"][0]["code"] = "EFT-01"


def dup_item_same_dimension(d):
    _dimension(d, "coverage")["items"][1]["code"] = "COV-01"


def four_stages(d):
    d["stages"] = d["stages"][:4]


def six_stages(d):
    d["stages"].append({**copy.deepcopy(d["stages"][4]), "number": 6})


def stage_numbers_repeat(d):
    d["stages"][4]["number"] = 4


def stages_from_zero(d):
    for stage in d["stages"]:
        stage["number"] -= 1


def missing_dimension(d):
    d["dimensions"] = [dim for dim in d["dimensions"] if dim["code"] != "coverage"]


def extra_dimension(d):
    extra = copy.deepcopy(d["dimensions"][0])
    extra["code"] = "equity"
    extra["items"] = [{"code": "EQU-01", "text": {"es": "Equidad", "en": "Equity"}}]
    d["dimensions"].append(extra)


def renamed_dimension(d):
    _dimension(d, "satisfaction")["code"] = "Satisfaction"


def repeated_dimension(d):
    _dimension(d, "satisfaction")["code"] = "coverage"


def empty_dimension(d):
    _dimension(d, "efficiency")["items"] = []


def missing_item_en(d):
    _dimension(d, "efficiency")["items"][0]["text"]["en"] = ""


def missing_stage_es(d):
    del d["stages"][2]["name"]["es"]


def lowercase_item_code(d):
    _dimension(d, "efficiency")["items"][0]["code"] = "efc-01"


def qsip_scale_gap(d):
    del d["scale"]["levels"][2]


def qsip_wrong_kind(d):
    d["kind"] = "focas"


QSIP_CASES = [
    (dup_item, "instrument.duplicate_code", "EFT-01"),
    (dup_item_same_dimension, "instrument.duplicate_code", "COV-01"),
    (four_stages, "instrument.stage_count", "4"),
    (six_stages, "instrument.stage_count", "6"),
    (stage_numbers_repeat, "instrument.stage_numbering", "5"),
    (stages_from_zero, "instrument.stage_numbering", "5"),
    (missing_dimension, "instrument.dimension_set", "coverage"),
    (extra_dimension, "instrument.dimension_set", "equity"),
    (renamed_dimension, "instrument.dimension_set", "Satisfaction"),
    (repeated_dimension, "instrument.dimension_set", "coverage"),
    (empty_dimension, "instrument.empty_dimension", "efficiency"),
    (missing_item_en, "instrument.missing_text", "EFC-01"),
    (missing_stage_es, "instrument.missing_text", "stages"),
    (lowercase_item_code, "instrument.invalid_code", "efc-01"),
    (qsip_scale_gap, "instrument.invalid_levels", "5"),
    (qsip_wrong_kind, "instrument.wrong_kind", "focas"),
]


@pytest.mark.parametrize(("mutate", "key", "mentioned"), QSIP_CASES, ids=[case[0].__name__ for case in QSIP_CASES])
def test_qsip_rule_enforced(mutate, key, mentioned):
    data = raw_qsip()
    mutate(data)
    with pytest.raises(ValidationFailed, match=re.escape(key)) as caught:
        parse_qsip(data)
    error = caught.value
    assert error.key == key
    assert mentioned in " ".join(str(value) for value in error.params.values())
    for lang in ("es", "en"):
        message = error.message(lang)
        assert message != key and "{" not in message, message


def test_qsip_stages_and_dimensions_come_back_in_canonical_order():
    data = raw_qsip()
    data["stages"].reverse()
    data["dimensions"].reverse()
    qsip = parse_qsip(data)
    assert [stage.number for stage in qsip.stages] == [1, 2, 3, 4, 5]
    assert [dimension.code for dimension in qsip.dimensions] == list(QSIP_DIMENSION_CODES)


@pytest.mark.parametrize("payload", [None, [], "focas"])
def test_not_a_dictionary(payload):
    with pytest.raises(ValidationFailed, match="instrument.wrong_type"):
        parse_focas(payload)  # type: ignore[arg-type]
    with pytest.raises(ValidationFailed, match="instrument.wrong_type"):
        parse_qsip(payload)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Translation catalog
# --------------------------------------------------------------------------------------------


def test_every_error_key_is_in_both_catalogs():
    keys = raised_keys()
    assert {key for _, key, _ in FOCAS_CASES + QSIP_CASES} <= keys
    assert len(keys) >= 20
    for lang in ("es", "en"):
        messages = po_messages(lang)
        missing = sorted(key for key in keys if not messages.get(key))
        assert not missing, (lang, missing)


def test_catalogs_agree_on_keys_and_placeholders():
    es, en = po_messages("es"), po_messages("en")
    assert set(es) == set(en)
    formatter = string.Formatter()
    for key in es:
        fields_es = {name for _, name, _, _ in formatter.parse(es[key]) if name}
        fields_en = {name for _, name, _, _ in formatter.parse(en[key]) if name}
        assert fields_es == fields_en, key
        assert es[key] != en[key], key
