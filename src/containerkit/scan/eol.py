"""End-of-life base images: the distribution (from the SBOM) or the language runtime (the official images' version
variable: PYTHON_VERSION, NODE_VERSION, …) past its end of support, from the dated table ``data/eol.json``."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

TABLE = Path(__file__).parent / "data" / "eol.json"


@dataclass(frozen=True)
class EndOfLife:
    what: str
    """``debian 10``, ``python 3.8``."""
    ended: dt.date
    message: str


@lru_cache(maxsize=1)
def table() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(TABLE.read_text(encoding="utf-8"))
    return data


def check(
    distro_id: str | None, distro_version: str | None, env: dict[str, str], today: dt.date | None = None
) -> list[EndOfLife]:
    """What in the image is past its end of support on ``today``."""
    today = today or dt.date.today()
    data = table()
    out: list[EndOfLife] = []
    releases = data["distributions"].get((distro_id or "").lower(), {})
    release = _release(releases, distro_version or "")
    if release is not None and dt.date.fromisoformat(releases[release]) < today:
        ended = dt.date.fromisoformat(releases[release])
        out.append(
            EndOfLife(
                f"{distro_id} {release}",
                ended,
                f"the base image's distribution, {distro_id} {release}, "
                f"reached its end of support on {ended} (table of {data['snapshot']}): move to a supported release",
            )
        )
    for runtime, spec in data["runtimes"].items():
        version = env.get(spec["env"])
        if not version:
            continue
        key = version.split(".")[0] if spec.get("major_only") else ".".join(version.split(".")[:2])
        ended_text = spec["releases"].get(key)
        if ended_text and dt.date.fromisoformat(ended_text) < today:
            ended = dt.date.fromisoformat(ended_text)
            out.append(
                EndOfLife(
                    f"{runtime} {key}",
                    ended,
                    f"the base image's runtime, {runtime} {version}, reached its end of "
                    f"support on {ended} (table of {data['snapshot']}): move to a supported {runtime} release",
                )
            )
    return out


def image_env(syft_json: str) -> dict[str, str]:
    """The image's environment from syft's record of its configuration (none for an SBOM read from a file)."""
    import base64

    try:
        raw = json.loads(syft_json)["source"]["metadata"].get("config")
        config = json.loads(base64.b64decode(raw)) if raw else {}
    except (ValueError, KeyError, TypeError, AttributeError):
        return {}
    env = (config.get("config") or {}).get("Env") or []
    return dict(item.split("=", 1) for item in env if isinstance(item, str) and "=" in item)


def _release(releases: dict[str, str], version: str) -> str | None:
    """The table's release for a distribution version (Alpine's 3.19.4 is 3.19; Debian's 12.8 is 12)."""
    parts = version.split(".")
    for n in range(len(parts), 0, -1):
        candidate = ".".join(parts[:n])
        if candidate in releases:
            return candidate
    return None
