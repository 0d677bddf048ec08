"""bench/corpus/apps.json: the real-app corpus issue 13 measures on, as the issue defines it."""

from __future__ import annotations

import json
import re
from collections import Counter

from tests.conftest import ROOT

EXCLUDED_OWNERS = {
    "docker",
    "dockersamples",
    "azure-samples",
    "googlecloudplatform",
    "heroku",
    "render-examples",
    "koyeb",
    "gothinkster",
    "spring-projects",
    "laravel",
    "nestjs",
    "mdn",
    "joelparkerhenderson",
    "usetrmnl",
}
MINIMUM = {"python": 5, "node": 5, "go": 5, "java": 5, "rust": 5, "static": 5, "dotnet": 3, "ruby": 3, "php": 3}


def test_the_corpus_has_enough_real_apps_of_each_kind_from_allowed_owners() -> None:
    apps = json.loads((ROOT / "bench" / "corpus" / "apps.json").read_text())["apps"]
    assert len(apps) >= 45
    counts = Counter(a["category"] for a in apps)
    assert all(counts[c] >= n for c, n in MINIMUM.items()), counts
    assert len({a["id"] for a in apps}) == len(apps)
    for app in apps:
        assert app["repo"].split("/")[0].lower() not in EXCLUDED_OWNERS, app["repo"]
        assert re.fullmatch(r"[0-9a-f]{40}", app["commit"]), app["id"]
        assert app["language"] in MINIMUM and app["source"], app["id"]
        assert app["answer"]["protocol"] in ("http", "tcp", "none"), app["id"]
        assert app["port"] is None or 0 < app["port"] < 65536, app["id"]
