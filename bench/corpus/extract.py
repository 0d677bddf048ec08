"""Extract the corpus apps (bench/corpus/apps.json) from fetched snapshots, without their container files.

    .venv/bin/python bench/corpus/extract.py [--mirrors /work/.mirror] [--out /var/tmp/containerkit-corpus] [ID ...]

Each app's repository must have been fetched as a bare snapshot at <mirrors>/<owner>+<name>/repo (the search
tool's `fetch github:owner/name`). The app's subdirectory at the recorded commit is written to <out>/<id>/ and
everything a generator would otherwise copy or be judged against is removed: Dockerfiles, Containerfiles,
compose files and .dockerignore. Nothing from these repositories is committed to this project; only the list,
the commits and the ground truth are.
"""

from __future__ import annotations

import argparse
import fnmatch
import io
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

APPS = Path(__file__).with_name("apps.json")
STRIPPED = (
    "Dockerfile",
    "Dockerfile.*",
    "*.Dockerfile",
    "*.dockerfile",
    "Containerfile",
    "Containerfile.*",
    "docker-compose*.yml",
    "docker-compose*.yaml",
    "compose.yml",
    "compose.yaml",
    "compose.*.yml",
    "compose.*.yaml",
    ".dockerignore",
)


def load_apps(path: Path = APPS) -> list[dict[str, object]]:
    data = json.loads(path.read_text())
    apps = data["apps"]
    assert isinstance(apps, list)
    return apps


def is_stripped(name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in STRIPPED)


def extract(app: dict[str, object], mirrors: Path, out: Path, fresh: bool = False) -> Path:
    owner, name = str(app["repo"]).split("/")
    git_dir = mirrors / f"{owner}+{name}" / "repo"
    if not git_dir.is_dir():
        raise SystemExit(f"{app['id']}: no snapshot at {git_dir}; fetch github:{app['repo']} first")
    commit, subdir = str(app["commit"]), str(app.get("subdir") or "").strip("/")
    target = out / str(app["id"])
    stamp = out / f"{app['id']}.extracted"
    wanted = f"{app['repo']}@{commit}:{subdir}"
    if not fresh and target.is_dir() and stamp.is_file() and stamp.read_text() == wanted:
        return target
    shutil.rmtree(target, ignore_errors=True)
    treeish = f"{commit}:{subdir}" if subdir else commit
    archive = subprocess.run(
        ["git", f"--git-dir={git_dir}", "archive", "--format=tar", treeish], capture_output=True, check=False
    )
    if archive.returncode != 0:
        raise SystemExit(f"{app['id']}: git archive {treeish} failed: {archive.stderr.decode().strip()}")
    target.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        members = [m for m in tar.getmembers() if not is_stripped(Path(m.name).name)]
        tar.extractall(target, members=members, filter="tar")
    stamp.write_text(wanted)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--out", type=Path, default=Path("/var/tmp/containerkit-corpus"))
    parser.add_argument("ids", nargs="*")
    args = parser.parse_args()
    apps = [a for a in load_apps() if not args.ids or a["id"] in args.ids]
    args.out.mkdir(parents=True, exist_ok=True)
    missing = 0
    for app in apps:
        try:
            print(f"{app['id']}: {extract(app, args.mirrors, args.out)}")
        except SystemExit as exc:
            missing += 1
            print(exc, file=sys.stderr)
    sys.exit(1 if missing else 0)


if __name__ == "__main__":
    main()
