#!/usr/bin/env python3
"""Small helpers for scripts/testenv (standard library only).

daemon-json PATH MIRROR INSECURE...   merge registry-mirrors / insecure-registries into PATH; prints changed|unchanged
engine-config-ok MIRROR INSECURE...   reads `docker info --format '{{json .RegistryConfig}}'` on stdin; exit 0 when
                                      the running engine has the mirror and treats every INSECURE registry as insecure
stale REGISTRY REPO RECIPE TAG...     prints the TAGs of REGISTRY/REPO that are missing or not labelled with RECIPE
copy-tag REGISTRY REPO SRC DST...     points the DST tags at SRC's manifest (same repository, so no blob moves)
"""

from __future__ import annotations

import ipaddress
import json
import os
import sys
import urllib.error
import urllib.request

LABEL = "org.containerkit.testenv.recipe"
MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
    ]
)


def daemon_json(path: str, mirror: str, insecure: list[str]) -> None:
    data: dict[str, object] = {}
    old = ""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            old = f.read()
        if old.strip():
            data = json.loads(old)
    mirrors = list(data.get("registry-mirrors") or [])  # type: ignore[call-overload]
    url = f"http://{mirror}"
    if url not in [m.rstrip("/") for m in mirrors]:
        mirrors.insert(0, url)
    data["registry-mirrors"] = mirrors
    regs = list(data.get("insecure-registries") or [])  # type: ignore[call-overload]
    regs += [r for r in insecure if r not in regs]
    data["insecure-registries"] = regs
    new = json.dumps(data, indent=2) + "\n"
    if new == old:
        print("unchanged")
        return
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(new)
    os.replace(tmp, path)
    print("changed")


def engine_config_ok(mirror: str, insecure: list[str]) -> int:
    cfg = json.load(sys.stdin) or {}
    if f"http://{mirror}" not in [m.rstrip("/") for m in cfg.get("Mirrors") or []]:
        return 1
    indexes = cfg.get("IndexConfigs") or {}
    cidrs = [ipaddress.ip_network(c) for c in cfg.get("InsecureRegistryCIDRs") or []]
    for reg in insecure:
        if reg in indexes and indexes[reg].get("Secure") is False:
            continue
        host = reg.rsplit(":", 1)[0]
        try:
            if any(ipaddress.ip_address(host) in net for net in cidrs):
                continue
        except ValueError:
            pass
        return 1
    return 0


def _get(url: str, accept: str | None = None) -> tuple[bytes, str] | None:
    req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})  # noqa: S310  (always http://REGISTRY)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310
            return resp.read(), resp.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return None
        raise


def stale(registry: str, repo: str, recipe: str, tags: list[str]) -> None:
    base = f"http://{registry}/v2/{repo}"
    seen: dict[str, str] = {}  # config digest -> recipe label
    for tag in tags:
        got = _get(f"{base}/manifests/{tag}", MANIFEST_TYPES)
        if got is None:
            print(tag)
            continue
        digest = json.loads(got[0]).get("config", {}).get("digest")
        if not digest:
            print(tag)
            continue
        if digest not in seen:
            blob = _get(f"{base}/blobs/{digest}")
            labels = (json.loads(blob[0]).get("config") or {}).get("Labels") or {} if blob else {}
            seen[digest] = labels.get(LABEL, "")
        if seen[digest] != recipe:
            print(tag)


def copy_tag(registry: str, repo: str, src: str, dsts: list[str]) -> None:
    base = f"http://{registry}/v2/{repo}"
    got = _get(f"{base}/manifests/{src}", MANIFEST_TYPES)
    if got is None:
        sys.exit(f"{registry}/{repo}:{src} not found")
    body, ctype = got
    for dst in dsts:
        req = urllib.request.Request(  # noqa: S310
            f"{base}/manifests/{dst}", data=body, method="PUT", headers={"Content-Type": ctype}
        )
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310
            if resp.status not in (200, 201):
                sys.exit(f"PUT {dst}: HTTP {resp.status}")


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        sys.exit(__doc__)
    cmd, args = argv[1], argv[2:]
    if cmd == "daemon-json":
        daemon_json(args[0], args[1], args[2:])
    elif cmd == "engine-config-ok":
        return engine_config_ok(args[0], args[1:])
    elif cmd == "stale":
        stale(args[0], args[1], args[2], args[3:])
    elif cmd == "copy-tag":
        copy_tag(args[0], args[1], args[2], args[3:])
    else:
        sys.exit(f"unknown command {cmd}\n{__doc__}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
