"""Demo data: the plan's seven first-wave proposals (Annex III) with their real governments."""

from __future__ import annotations

from assessments.access import LOCAL_USER
from db.demo import load_demo
from db.queries import registry

# DOMAIN.md's table, written out by hand: department, provincial municipality, district municipalities.
EXPECTED = {
    "Condorcanqui": ("Amazonas", "Condorcanqui", {"El Cenepa", "Río Santiago"}, {"health", "education"}),
    "Moyobamba – Rioja": ("San Martín", "Moyobamba", {"Jepelacio", "Soritor", "Awajun"}, {"health"}),
    "Lamas": ("San Martín", "Lamas", {"Tabalosos", "Cuñumbuqui"}, {"education"}),
    "Mariscal Cáceres": ("San Martín", "Mariscal Cáceres", {"Pajarillo", "Pachiza", "Huicungo"}, {"education"}),
    "Coronel Portillo": ("Ucayali", "Coronel Portillo", {"Manantay", "Campoverde", "Nueva Requena"},
                         {"health", "education", "environment"}),
    "Tambopata": ("Madre de Dios", "Tambopata", {"Laberinto", "Inambari", "Las Piedras"},
                  {"health", "education", "environment"}),
    "Alto Amazonas": ("Loreto", "Alto Amazonas", {"Balsapuerto", "Lagunas", "Santa Cruz"}, {"health"}),
}


def test_demo_clusters_match_the_plan(db_url):
    load_demo()
    frame = registry.clusters(LOCAL_USER)
    assert set(frame["name"]) == set(EXPECTED)
    assert frame["is_demo"].all()
    for row in frame.to_dict("records"):
        department, province, districts, sectors = EXPECTED[row["name"]]
        members = registry.cluster_members(row["id"])
        by_level = {level: members[members["level"] == level] for level in ("regional", "provincial", "district")}
        assert row["department"] == department
        assert list(by_level["regional"]["name"]) == [f"Gobierno Regional de {department}"]
        assert list(by_level["provincial"]["name"]) == [f"Municipalidad Provincial de {province}"]
        assert {n.removeprefix("Municipalidad Distrital de ") for n in by_level["district"]["name"]} == districts
        assert set(row["sectors"]) == sectors


def test_first_wave_has_two_san_martin_clusters_and_one_elsewhere(db_url):
    load_demo()
    frame = registry.clusters(LOCAL_USER)
    wave1 = frame[frame["wave"] == 1].groupby("department").size().to_dict()
    assert wave1 == {"Amazonas": 1, "San Martín": 2, "Ucayali": 1, "Madre de Dios": 1, "Loreto": 1}
