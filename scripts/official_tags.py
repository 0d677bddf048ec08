#!/usr/bin/env python3
"""Snapshot the tags of the official images the Dockerfile generator uses, from a fetched
docker-library/official-images.

Usage: scripts/official_tags.py GIT_DIR [OUT]   (GIT_DIR: a bare clone of github.com/docker-library/official-images)

For each image, ``current`` holds the tags its library file lists at the snapshot commit (maintained today) and
``published`` every tag it has ever listed (they stay pullable on Docker Hub, unmaintained). No code of the source
repository is copied: only tag names, the commit id and its date.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

IMAGES = (
    "python",
    "node",
    "golang",
    "maven",
    "gradle",
    "eclipse-temurin",
    "ruby",
    "php",
    "composer",
    "rust",
    "nginx",
    "debian",
)
OUT = Path(__file__).resolve().parent.parent / "src" / "containerkit" / "dockerfile" / "data" / "official-tags.json"
_TAG_LINE = re.compile(r"^[+ ]?(?:Tags|SharedTags):\s*(.+)$")
_OLD_LINE = re.compile(
    r"^[+ ]?([A-Za-z0-9][\w.-]{0,127}):\s+git://"
)  # the format before 2016: "TAG: git://repo@commit dir"


def git(git_dir: str, *args: str) -> str:
    return subprocess.run(["git", f"--git-dir={git_dir}", *args], check=True, capture_output=True, text=True).stdout


#: the shapes of tags the generator can emit: a version of one or two components (or a release word) and
#: Debian/slim/runtime variants; Windows, Alpine, release candidates and the like are left out
_EMITTABLE = re.compile(
    r"^(?:\d+(?:\.\d+)?|stable|mainline|latest|bookworm|trixie|bullseye)"
    r"(?:-(?:slim|bookworm|trixie|bullseye|apache|cli|jre|jdk\d*|eclipse-temurin-\d+|jammy|noble))*$"
)


def tags_in(text: str) -> set[str]:
    found: set[str] = set()
    for line in text.splitlines():
        m = _TAG_LINE.match(line)
        if m:
            found.update(t.strip() for t in m.group(1).split(",") if t.strip())
            continue
        old = _OLD_LINE.match(line)
        if old:
            found.add(old.group(1))
    return {t for t in found if _EMITTABLE.match(t)}


def main() -> None:
    git_dir = sys.argv[1]
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else OUT
    commit = git(git_dir, "rev-parse", "HEAD").strip()
    date = git(git_dir, "show", "-s", "--format=%cs", commit).strip()
    images = {}
    for image in IMAGES:
        current = tags_in(git(git_dir, "show", f"{commit}:library/{image}"))
        history = git(git_dir, "log", "-p", "--no-renames", "--format=", commit, "--", f"library/{image}")
        published = tags_in(
            "\n".join(line for line in history.splitlines() if line.startswith("+") and not line.startswith("+++"))
        )
        images[image] = {"current": sorted(current), "published": sorted(published | current)}
        print(f"{image}: {len(current)} current, {len(published | current)} published", file=sys.stderr)
    out.parent.mkdir(parents=True, exist_ok=True)
    doc = {"source": "github.com/docker-library/official-images", "commit": commit, "date": date, "images": images}
    out.write_text(json.dumps(doc, indent=0, sort_keys=True) + "\n")
    print(f"wrote {out} ({out.stat().st_size} bytes, snapshot {date} {commit[:12]})", file=sys.stderr)


if __name__ == "__main__":
    main()
