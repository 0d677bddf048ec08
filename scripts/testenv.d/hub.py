#!/usr/bin/env python3
"""Docker Hub (and mcr.microsoft.com) as the test environment answers them, since the real ones are unreachable.

    hub.py --listen 127.0.0.1:443 --cert CERT --key KEY --upstream 127.0.0.1:5001

scripts/testenv points those names at this server (/etc/hosts) and makes dockerd trust its CA
(/etc/docker/certs.d/HOST/ca.crt). It serves the distribution API from the local registry that holds the stand-ins
(the engine's mirror, which the engine tries first anyway), and answers a tag that has no stand-in with an error that
names the tag, instead of the engine's "lookup registry-1.docker.io: no such host":

    manifest for ruby:4.0-slim not found: manifest unknown: no stand-in for docker.io/library/ruby:4.0-slim in this
    test environment (Docker Hub is not reachable here; scripts/testenv seeds the tags listed in docs/testing.md)

Standard library only. Every response says who answered (header X-Containerkit-Testenv: hub-stand-in).
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import ssl
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MANIFEST = re.compile(r"^/v2/(?P<name>.+)/manifests/(?P<ref>[^/]+)$")
PASSED = (
    "Content-Type",
    "Content-Length",
    "Docker-Content-Digest",
    "Docker-Distribution-Api-Version",
    "Etag",
    "Location",
)
HOSTS = {"registry-1.docker.io": "docker.io", "index.docker.io": "docker.io", "mcr.microsoft.com": "mcr.microsoft.com"}


class Hub(BaseHTTPRequestHandler):
    upstream = "127.0.0.1:5001"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write(f"{self.address_string()} {format % args}\n")

    def do_GET(self) -> None:
        self._answer(body=True)

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def _answer(self, body: bool) -> None:
        path = self.path.split("?", 1)[0]
        if path in ("/v2", "/v2/"):
            self._json(200, {}, body)
            return
        host = HOSTS.get((self.headers.get("Host") or "").split(":")[0], "docker.io")
        upstream_path = path if host == "docker.io" else f"/v2/{host}/{path[len('/v2/') :]}"
        conn = http.client.HTTPConnection(self.upstream, timeout=60)
        try:
            conn.request(
                self.command,
                upstream_path,
                headers={k: v for k, v in self.headers.items() if k.lower() in ("accept", "range")},
            )
            response = conn.getresponse()
            manifest = MANIFEST.match(path)
            if response.status == 404 and manifest:
                response.read()
                name = manifest["name"]
                tag = (
                    f"{name}:{manifest['ref']}"
                    if not manifest["ref"].startswith("sha256:")
                    else f"{name}@{manifest['ref']}"
                )
                self._json(
                    404,
                    {
                        "errors": [
                            {
                                "code": "MANIFEST_UNKNOWN",
                                "message": (
                                    f"no stand-in for {host}/{tag} in this test environment ({host} is not reachable "
                                    "here; scripts/testenv seeds the tags listed in docs/testing.md)"
                                ),
                                "detail": {"Tag": manifest["ref"]},
                            }
                        ]
                    },
                    body,
                )
                return
            self.send_response(response.status)
            for name in PASSED:
                if response.getheader(name):
                    self.send_header(name, response.getheader(name) or "")
            self.send_header("X-Containerkit-Testenv", "hub-stand-in")
            self.end_headers()
            if body:
                while chunk := response.read(1 << 16):
                    self.wfile.write(chunk)
        except OSError as e:
            self._json(
                502,
                {
                    "errors": [
                        {"code": "UNAVAILABLE", "message": f"the local registry {self.upstream} did not answer: {e}"}
                    ]
                },
                body,
            )
        finally:
            conn.close()

    def _json(self, status: int, data: object, body: bool) -> None:
        payload = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
        self.send_header("X-Containerkit-Testenv", "hub-stand-in")
        self.end_headers()
        if body:
            self.wfile.write(payload)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default="127.0.0.1:443")
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--upstream", default="127.0.0.1:5001")
    args = parser.parse_args()
    Hub.upstream = args.upstream
    host, port = args.listen.rsplit(":", 1)
    server = ThreadingHTTPServer((host, int(port)), Hub)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
