"""Closed to the network by default (scripts/serve.py) and the first administrator only from this machine
or with the console's one-time setup code (assessments/accounts.py, pages/login.py)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from assessments import accounts
from assessments.errors import PermissionDenied
from db.engine import write_session
from scripts import serve

ROOT = Path(__file__).resolve().parent.parent


# --- where the server listens and which hosts it answers --------------------------------------------


def test_by_default_the_server_listens_on_this_machine_and_answers_its_names_only():
    network = serve.plan(configured_address=None, configured_hosts=[], env={})
    assert network.address == "127.0.0.1"
    assert set(network.allowed_hosts) == {"localhost", "127.0.0.1", "::1"}
    assert network.browser_address == "localhost"


def test_the_shipped_config_listens_on_loopback_with_a_host_allow_list():
    import tomllib

    server = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]
    assert server["address"] == "127.0.0.1"
    assert set(server["allowedHosts"]) == {"localhost", "127.0.0.1", "::1"}


def test_serving_a_team_names_its_hosts():
    network = serve.plan(configured_address="127.0.0.1", configured_hosts=["localhost"],
                         env={"FOCAS_HOSTS": "Focas.LAN, 192.168.1.20"})
    assert network.address == "0.0.0.0"
    assert network.allowed_hosts == ("localhost", "127.0.0.1", "::1", "focas.lan", "192.168.1.20")
    assert network.browser_address == "focas.lan"
    one = serve.plan(configured_address=None, configured_hosts=[],
                     env={"FOCAS_HOSTS": "focas.lan", "FOCAS_ADDRESS": "192.168.1.20"})
    assert one.address == "192.168.1.20"


@pytest.mark.parametrize("address,hosts,env", [
    ("0.0.0.0", [], {}),                                       # every interface, no host named
    ("::", ["localhost"], {}),
    ("192.168.1.20", [], {}),
    ("0.0.0.0", ["*"], {}),                                    # any Host header: DNS rebinding
    (None, [], {"FOCAS_HOSTS": "*"}),
    ("0.0.0.0", [], {"FOCAS_AUTH": "off", "FOCAS_HOSTS": "focas.lan"}),  # no login on a network
    (None, [], {"FOCAS_AUTH": "OFF", "FOCAS_HOSTS": "focas.lan"}),
])
def test_unsafe_network_settings_refuse_to_start(address, hosts, env):
    with pytest.raises(serve.Refused):
        serve.plan(configured_address=address, configured_hosts=hosts, env=env)


def test_no_login_is_fine_on_this_machine():
    assert serve.plan(configured_address="127.0.0.1", configured_hosts=[], env={"FOCAS_AUTH": "off"}).loopback_only
    assert serve.plan(configured_address="::1", configured_hosts=[], env={"FOCAS_AUTH": "off"}).loopback_only


def _status(host: bytes | None, kind: str = "http") -> int | str:
    """What the host guard answers a request with this Host header (the inner app answers 200 / accepts)."""
    sent: list[dict] = []

    async def inner(scope, receive, send):
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200, "headers": []})
        else:
            await send({"type": "websocket.accept"})

    async def send(message):
        sent.append(message)

    async def receive():
        return {}

    headers = [(b"host", host)] if host is not None else []
    # in a thread of its own: the browser tests' Playwright keeps an event loop running in this one
    worker = threading.Thread(target=asyncio.run, args=(serve.HostGuard(inner)({"type": kind, "headers": headers},
                                                                                receive, send),))
    worker.start()
    worker.join()
    first = sent[0]
    return first.get("status") or first["type"]


def test_the_host_guard_refuses_other_hosts_on_every_route(monkeypatch):
    from streamlit import config

    monkeypatch.setattr(config, "get_option", lambda key: ["localhost", "127.0.0.1", "::1", "focas.lan"]
                        if key == "server.allowedHosts" else None)
    assert _status(b"127.0.0.1:8501") == 200
    assert _status(b"localhost:8501") == 200
    assert _status(b"[::1]:8501") == 200
    assert _status(b"focas.lan") == 200
    assert _status(b"attacker.example") == 403
    assert _status(b"focas.lan.attacker.example") == 403
    assert _status(None) == 403
    assert _status(b"focas.lan", "websocket") == "websocket.accept"
    assert _status(b"attacker.example", "websocket") == "websocket.close"


def test_applying_the_plan_switches_off_streamlits_outbound_lookups(monkeypatch):
    from streamlit import config, net_util
    from streamlit.web.server.starlette import starlette_server

    for name in ("get_external_ip", "get_internal_ip"):
        monkeypatch.setattr(net_util, name, getattr(net_util, name))
    monkeypatch.setattr(starlette_server, "create_starlette_app", starlette_server.create_starlette_app)
    options: dict = {}
    monkeypatch.setattr(config, "set_option", lambda key, value, where=None: options.__setitem__(key, value))
    monkeypatch.setattr(config, "is_manually_set", lambda key: False)
    serve.apply(serve.plan(configured_address=None, configured_hosts=[], env={"FOCAS_HOSTS": "focas.lan"}))
    assert net_util.get_external_ip() is None and net_util.get_internal_ip() is None
    assert options == {"server.address": "0.0.0.0", "server.allowedHosts": ["localhost", "127.0.0.1", "::1", "focas.lan"],
                       "browser.serverAddress": "focas.lan"}
    assert getattr(starlette_server.create_starlette_app, "host_guarded", False)


# --- the first administrator ---------------------------------------------------------------------------


@pytest.fixture
def console(monkeypatch) -> list[str]:
    """The setup codes the server printed on its console, newest last; a fresh code store per test."""
    printed: list[str] = []
    monkeypatch.setattr(accounts, "_setup", {"code": None, "misses": 0})
    monkeypatch.setattr(accounts, "_announce_setup_code", lambda code, client: printed.append(code))
    return printed


def _create(**kwargs):
    with write_session() as session:
        return accounts.create_first_admin(session=session, username="jefa", password="clave-segura-1", **kwargs)


def test_the_first_administrator_from_another_computer_is_refused_without_the_console_code(db_url, console):
    with pytest.raises(PermissionDenied):
        _create(client_ip="203.0.113.9")
    accounts.first_admin_setup_code("203.0.113.9")
    with pytest.raises(PermissionDenied):
        _create(client_ip="203.0.113.9", setup_code="AAAA-BBBB-CCCC")
    assert accounts.login_mode() == "first_admin"
    actor = _create(client_ip="203.0.113.9", setup_code=console[-1].lower().replace("-", " "))
    assert actor.role == "admin"
    assert accounts._setup["code"] is None  # used once


def test_loopback_clients_need_no_code(db_url, console):
    for local in (None, "127.0.0.1", "::1", "::ffff:127.0.0.1"):
        assert accounts.is_local_client(local)
    for remote in ("192.168.1.5", "10.0.0.1", "2001:db8::1", "localhost.attacker", ""):
        assert not accounts.is_local_client(remote)
    assert _create(client_ip="::ffff:127.0.0.1").role == "admin"
    assert console == []


def test_wrong_codes_replace_the_code(db_url, console):
    accounts.first_admin_setup_code("203.0.113.9")
    first = console[-1]
    for _ in range(accounts.SETUP_CODE_ATTEMPTS):
        with pytest.raises(PermissionDenied):
            _create(client_ip="203.0.113.9", setup_code="WRONG-CODE-0000")
    with pytest.raises(PermissionDenied):
        _create(client_ip="203.0.113.9", setup_code=first)  # guessing burnt it
    accounts.first_admin_setup_code("203.0.113.9")
    assert console[-1] != first
    assert _create(client_ip="203.0.113.9", setup_code=console[-1]).role == "admin"


def test_the_first_admin_page_from_another_computer_asks_for_the_console_code(db_url, console, monkeypatch):
    from pages import _access_gate as gate

    monkeypatch.setattr(gate, "client_ip", lambda: "192.168.1.50")
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["lang"] = "es"
    at.run()
    assert not at.exception
    assert at.title[0].value == "Primera cuenta de administrador"
    assert len(console) == 1 and console[0] not in " ".join(i.value for i in at.info)  # never in the page
    at.text_input(key="first_admin.username").set_value("jefa")
    at.text_input(key="first_admin.password").set_value("clave-segura-1")
    at.text_input(key="first_admin.confirm").set_value("clave-segura-1")
    at.text_input(key="first_admin.setup_code").set_value("ZZZZ-ZZZZ-ZZZZ")
    [b for b in at.button if b.label == "Crear administrador e ingresar"][0].click().run()
    assert "consola" in " ".join(e.value for e in at.error)
    assert accounts.login_mode() == "first_admin" and "actor" not in at.session_state
    at.text_input(key="first_admin.setup_code").set_value(console[-1])
    [b for b in at.button if b.label == "Crear administrador e ingresar"][0].click().run()
    assert not at.exception
    assert at.session_state["actor"].username == "jefa"


def test_the_first_admin_page_on_this_machine_asks_for_no_code(db_url, console):
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["lang"] = "es"
    at.run()
    assert "first_admin.setup_code" not in [w.key for w in at.text_input]
    assert console == []
