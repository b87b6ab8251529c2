"""The running app refuses other web sites: a page from elsewhere cannot open its websocket or read it."""

from __future__ import annotations

import base64
import os
import socket
import urllib.request

import pytest

pytestmark = pytest.mark.e2e


def websocket_handshake(port: int, origin: str) -> int:
    """HTTP status of a websocket upgrade to the app's stream, sent with this Origin header."""
    key = base64.b64encode(os.urandom(16)).decode()
    request = (f"GET /_stcore/stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
               f"Origin: {origin}\r\n\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=20) as connection:
        connection.sendall(request.encode())
        status_line = connection.recv(4096).split(b"\r\n", 1)[0].decode()
    return int(status_line.split()[1])


def test_other_sites_cannot_open_the_apps_websocket(demo_app):
    # the app's own page may connect; a hostile page open in another tab of the facilitator's browser may not
    assert websocket_handshake(demo_app.port, f"http://127.0.0.1:{demo_app.port}") == 101
    assert websocket_handshake(demo_app.port, "https://hostile.example") != 101


def test_no_cross_origin_read_is_allowed(demo_app):
    request = urllib.request.Request(f"{demo_app.url}/_stcore/health", headers={"Origin": "https://hostile.example"})
    with urllib.request.urlopen(request, timeout=20) as response:
        assert response.status == 200
        assert response.headers.get("Access-Control-Allow-Origin") in (None, "")
