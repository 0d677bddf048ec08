"""Readiness waits as small strategy objects (like testcontainers): each polls with a deadline and an interval."""

from __future__ import annotations

import socket
from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class Probe:
    ready: bool
    detail: str
    status_code: int | None = None


@dataclass(frozen=True)
class HttpWait:
    """Ready when the path answers over HTTP with any status below 500."""

    path: str = "/"
    timeout_s: float = 2.0

    def probe(self, host_port: int) -> Probe:
        url = f"http://127.0.0.1:{host_port}{self.path if self.path.startswith('/') else '/' + self.path}"
        try:
            response = httpx.get(url, timeout=self.timeout_s)
        except httpx.HTTPError as e:
            return Probe(False, f"{url}: {type(e).__name__}")
        return Probe(response.status_code < 500, f"{url} answered {response.status_code}", response.status_code)


@dataclass(frozen=True)
class TcpWait:
    """Ready when the port accepts a TCP connection (and does not close it at once: docker-proxy always accepts)."""

    timeout_s: float = 2.0

    def probe(self, host_port: int) -> Probe:
        try:
            with socket.create_connection(("127.0.0.1", host_port), timeout=self.timeout_s) as conn:
                conn.settimeout(0.3)
                try:
                    data = conn.recv(1)
                except TimeoutError:
                    return Probe(True, f"port {host_port} accepted a connection")
                return Probe(bool(data), f"port {host_port} {'sent data' if data else 'closed the connection'}")
        except OSError as e:
            return Probe(False, f"port {host_port}: {e}")


@dataclass(frozen=True)
class StaysUpWait:
    """For workers without a port: ready when the process is still running after the grace period."""

    grace_s: float = 5.0
