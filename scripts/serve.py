"""Start the app: `streamlit run dashboard.py`, closed to the network unless told otherwise.

Streamlit treats a `pages/` folder next to the entry script as a v1 multipage app until the first
script run calls `st.navigation`; a deep link opened first after a restart (say /focas) would then
run that page alone, without the language switch or login gate. Our navigation is always
`st.navigation` in dashboard.py, so the legacy mode is switched off before the server starts.

Network (README, "Serving a team on a network"):
- by default the server listens on 127.0.0.1 only and answers only requests addressed to this machine
  (`Host: localhost`, `127.0.0.1`, `[::1]`);
- `FOCAS_HOSTS=focas.lan,192.168.1.20` serves a team: the server listens on every interface
  (`FOCAS_ADDRESS` picks one) and answers requests for those hosts, and this machine's, only;
  `server.allowedHosts` in .streamlit/config.toml may name them too. Any other `Host` header gets a 403
  on every HTTP route and the websocket, which stops DNS rebinding;
- listening on a non-loopback address without named hosts (or with `*`) refuses to start, and so does
  `FOCAS_AUTH=off` (no login) on anything but loopback;
- the server makes no outbound lookups: Streamlit's "External URL" (an HTTP request to
  checkip.amazonaws.com) and "Network URL" (a UDP connect towards 8.8.8.8) are switched off.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
HOSTS_ENV = "FOCAS_HOSTS"
ADDRESS_ENV = "FOCAS_ADDRESS"
AUTH_ENV = "FOCAS_AUTH"  # = assessments.accounts.AUTH_ENV (not imported: no database code before start-up)
WHERE = "scripts/serve.py (FOCAS network policy)"


class Refused(Exception):
    """A network setting the app will not start with; the message says what to do instead."""


@dataclass(frozen=True)
class Network:
    address: str               # server.address: where the server listens
    allowed_hosts: tuple       # server.allowedHosts: Host headers it answers
    browser_address: str       # browser.serverAddress: the URL it prints

    @property
    def loopback_only(self) -> bool:
        return is_loopback(self.address)


def is_loopback(address: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 (also IPv4-mapped), `localhost` and a unix socket; False for a wildcard."""
    if not address:
        return False
    if address.startswith("unix://"):
        return True  # a local socket file: not reachable from the network
    if address.strip().lower().rstrip(".") == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return False  # a host name: it may resolve to any interface
    mapped = getattr(ip, "ipv4_mapped", None)
    return bool(ip.is_loopback or (mapped is not None and mapped.is_loopback))


def _split(value: str | None) -> list[str]:
    return [part.strip().lower().rstrip(".") for part in (value or "").replace(";", ",").split(",") if part.strip()]


def plan(*, configured_address: str | None, configured_hosts, env: Mapping[str, str]) -> Network:
    """Where to listen and which Host headers to answer, from the configuration and the environment."""
    named = []
    for host in [*_split(env.get(HOSTS_ENV)), *_split(",".join(configured_hosts or []))]:
        if host not in LOOPBACK_HOSTS and host not in named:
            named.append(host)
    if "*" in named:
        raise Refused("'*' accepts any Host header (DNS rebinding): name the hosts the team uses in FOCAS_HOSTS.")
    if env.get(ADDRESS_ENV, "").strip():
        address = env[ADDRESS_ENV].strip()
    elif _split(env.get(HOSTS_ENV)) and (not configured_address or is_loopback(configured_address)):
        address = "0.0.0.0"  # noqa: S104 - serving a team, on hosts named in FOCAS_HOSTS
    else:
        address = configured_address or "127.0.0.1"
    if not is_loopback(address):
        if env.get(AUTH_ENV, "").strip().lower() == "off":
            raise Refused(f"FOCAS_AUTH=off (no login) is allowed on this machine only, not on {address}: "
                          "remove FOCAS_AUTH=off or serve on 127.0.0.1.")
        if not named:
            raise Refused(f"Listening on {address} needs the host names the team will use: "
                          "FOCAS_HOSTS=name1,name2 (see README, 'Serving a team on a network').")
    return Network(address=address, allowed_hosts=(*LOOPBACK_HOSTS, *named),
                   browser_address=named[0] if named and not is_loopback(address) else "localhost")


class HostGuard:
    """ASGI middleware: a request whose Host header is not in server.allowedHosts gets a 403 (HTTP and websocket).

    Streamlit itself checks server.allowedHosts on its websocket only; this covers every route.
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] in ("http", "websocket"):
            from streamlit.web.server.starlette.starlette_websocket import is_host_allowed

            host = next((value.decode("latin-1") for name, value in scope.get("headers", []) if name == b"host"), None)
            if not is_host_allowed(host):
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})  # before accept: answered with 403
                else:
                    body = b"Host not allowed\n"
                    await send({"type": "http.response.start", "status": 403,
                                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                            (b"content-length", str(len(body)).encode())]})
                    await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def _no_lookup() -> None:
    return None


def apply(network: Network) -> None:
    """Put the plan into Streamlit's configuration and switch off its outbound lookups."""
    from streamlit import config, net_util
    from streamlit.web.server.starlette import starlette_server

    config.set_option("server.address", network.address, WHERE)
    config.set_option("server.allowedHosts", list(network.allowed_hosts), WHERE)
    if not config.is_manually_set("browser.serverAddress"):
        config.set_option("browser.serverAddress", network.browser_address, WHERE)
    net_util.get_external_ip = _no_lookup
    net_util.get_internal_ip = _no_lookup
    create_app = starlette_server.create_starlette_app
    if not getattr(create_app, "host_guarded", False):
        def guarded(runtime):
            return HostGuard(create_app(runtime))

        guarded.host_guarded = True
        starlette_server.create_starlette_app = guarded


def hold_database_lock() -> None:
    """Hold the embedded database's advisory lock while serving, so `make restore` refuses (db.backup)."""
    try:
        from db.backup import hold_app_lock

        hold_app_lock()
    except (RuntimeError, OSError) as error:  # a bad DATABASE_URL shows on the page; a read-only folder: no lock
        print(f"FOCAS: no database lock ({error})", file=sys.stderr, flush=True)


def main() -> None:
    from streamlit import config
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web import bootstrap, cli

    PagesManager.uses_pages_directory = False
    run = bootstrap.run

    def run_closed_to_the_network(*args, **kwargs):
        # called by `streamlit run` once the configuration (config.toml, flags, environment) is loaded
        try:
            network = plan(configured_address=config.get_option("server.address"),
                           configured_hosts=config.get_option("server.allowedHosts"), env=os.environ)
        except Refused as refusal:
            print(f"FOCAS: not starting. {refusal}", file=sys.stderr, flush=True)
            sys.exit(2)
        apply(network)
        hold_database_lock()
        if not network.loopback_only:
            print(f"FOCAS: serving on {network.address} for hosts {', '.join(network.allowed_hosts)}", flush=True)
        return run(*args, **kwargs)

    bootstrap.run = run_closed_to_the_network
    sys.argv = ["streamlit", "run", "dashboard.py", *sys.argv[1:]]
    sys.exit(cli.main())


if __name__ == "__main__":
    main()
