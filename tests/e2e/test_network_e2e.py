"""The served app is closed to the network unless told otherwise, answers only its own hosts, and never
looks anything up outside (scripts/serve.py)."""

from __future__ import annotations

import base64
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, free_port

pytestmark = pytest.mark.e2e


def serve(database_url: str, log: Path, *args: str, env: dict | None = None, prefix: tuple = ()) -> subprocess.Popen:
    environment = {**os.environ, "DATABASE_URL": database_url, "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none",
                   **(env or {})}
    for name in ("FOCAS_HOSTS", "FOCAS_ADDRESS"):
        if name not in (env or {}):
            environment.pop(name, None)
    return subprocess.Popen([*prefix, sys.executable, "-m", "scripts.serve", "--server.headless", "true", *args],
                            cwd=ROOT, env=environment, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def request(port: int, host: str, path: str = "/_stcore/health", *, websocket_origin: str | None = None) -> int:
    """HTTP status of a request to 127.0.0.1:port sent with this Host header (a websocket upgrade with an Origin)."""
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", "Connection: close"]
    if websocket_origin is not None:
        key = base64.b64encode(os.urandom(16)).decode()
        lines[2:] = ["Upgrade: websocket", "Connection: Upgrade", f"Sec-WebSocket-Key: {key}",
                     "Sec-WebSocket-Version: 13", f"Origin: {websocket_origin}"]
    with socket.create_connection(("127.0.0.1", port), timeout=20) as connection:
        connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        status_line = connection.recv(4096).split(b"\r\n", 1)[0].decode()
    return int(status_line.split()[1])


def wait_healthy(process: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.time() + 60
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited:\n{log.read_text()}")
        try:
            if request(port, f"127.0.0.1:{port}") == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"the server did not become healthy:\n{log.read_text()}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)  # its own session: the server (and strace, if any)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def listening_addresses(port: int) -> set[str]:
    """Local addresses of the sockets listening on this port (Linux /proc/net/tcp{,6})."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


def test_make_run_listens_on_this_machine_only_and_refuses_other_hosts(db_url, tmp_path):
    port = free_port()
    log = tmp_path / "serve.log"
    process = serve(db_url, log, "--server.port", str(port), env={"FOCAS_AUTH": "on"})  # make run's flags
    try:
        wait_healthy(process, port, log)
        assert listening_addresses(port) == {"0100007F"}  # 127.0.0.1, nothing else
        for own in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost"):
            assert request(port, own) == 200
            assert request(port, own, "/") == 200
        assert request(port, f"localhost:{port}", "/_stcore/stream",
                       websocket_origin=f"http://localhost:{port}") == 101
        # a page of another site resolved to 127.0.0.1 (DNS rebinding) sends its own name as Host
        for foreign in (f"rebind.attacker.example:{port}", "192.168.1.20", f"localhost.attacker.example:{port}"):
            assert request(port, foreign) == 403
            assert request(port, foreign, "/") == 403
            assert request(port, foreign, "/_stcore/stream", websocket_origin=f"http://{foreign}") == 403
    finally:
        stop(process)


def test_no_login_refuses_to_start_on_a_network_address(db_url, tmp_path):
    for args, env in ((("--server.address", "0.0.0.0"), {"FOCAS_AUTH": "off"}),
                      ((), {"FOCAS_AUTH": "off", "FOCAS_HOSTS": "focas.lan"}),
                      (("--server.address", "0.0.0.0"), {"FOCAS_AUTH": "on"})):  # no host named
        log = tmp_path / "refused.log"
        process = serve(db_url, log, "--server.port", str(free_port()), *args, env=env)
        try:
            assert process.wait(timeout=30) != 0
        finally:
            stop(process)
        assert "FOCAS: not starting" in log.read_text()


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace not installed (apt-get install strace)")
def test_a_team_server_answers_its_named_hosts_and_makes_no_outbound_connection(db_url, tmp_path):
    port = free_port()
    log, trace = tmp_path / "serve.log", tmp_path / "connect.trace"
    # serving a team: every interface, one named host; traced from the start for connect() calls
    process = serve(db_url, log, "--server.port", str(port), env={"FOCAS_AUTH": "on", "FOCAS_HOSTS": "focas.test"},
                    prefix=("strace", "-f", "-qq", "-e", "trace=connect", "-o", str(trace)))
    try:
        wait_healthy(process, port, log)
        assert request(port, f"focas.test:{port}", "/") == 200
        assert request(port, f"focas.test:{port}", "/_stcore/stream", websocket_origin=f"http://focas.test:{port}") == 101
        assert request(port, f"elsewhere.example:{port}", "/") == 403
        # a foreign Origin on the app's own host: Streamlit's origin allow-list used to resolve this
        # machine's internal and external addresses (8.8.8.8, checkip.amazonaws.com) to compare
        assert request(port, f"focas.test:{port}", "/_stcore/stream", websocket_origin="http://hostile.example") != 101
        time.sleep(1)
    finally:
        stop(process)
    assert "http://focas.test:" in log.read_text()
    outbound = []
    for line in trace.read_text().splitlines():
        if "AF_INET" not in line:
            continue  # unix sockets
        address = re.search(r'inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)"', line)
        host = next((g for g in address.groups() if g), "") if address else ""
        if not (host.startswith("127.") or host in ("::1", "::ffff:127.0.0.1")):
            outbound.append(line)
    assert outbound == []
