"""Built-in scan time of a typical Python image versus running syft alone on it, at real database size.

    .venv/bin/python bench/scan.py [--image IMAGE] [--records 300000 | --db DIR] [--runs 3]

Without --image it builds `ck-bench-scan:latest` (python:3.12-slim + requests/urllib3/idna) with the docker SDK.
The built-in scan = syft (SBOM, syft-json + CycloneDX) + reading the OSV records of the SBOM's packages from the
database's index + matching. Issue 16's target: the database part at most 0.5 s on top of syft, printed as a ratio.

Without --db the database is the real records of tests/data/scan/osv plus synthetic records of the same shape up to
--records, in OSV's layout (one all.zip per ecosystem: Debian:12, npm, PyPI, Go, Maven): twenty for each package of
the image (OSV's Debian data has dozens for glibc or openssl), the rest for other package names. It is generated
once into /var/tmp/containerkit-bench and indexed as `db update` does; the index build time is printed too.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import tarfile
import tempfile
import time
from pathlib import Path

import anyio

from containerkit import _proc
from containerkit.scan import osv
from containerkit.scan.backends import BuiltinScanner, ScanInput
from containerkit.scan.merge import merge
from containerkit.scan.sbom import run_syft, syft_binary

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (
    "FROM python:3.12-slim\nRUN pip install --no-cache-dir --break-system-packages requests==2.25.0 urllib3==1.26.4 "
    "idna==2.10 chardet==3.0.4 certifi==2024.8.30\n"
)


def build_image(tag: str) -> str:
    import docker

    client = docker.from_env(timeout=600)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = DOCKERFILE.encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    client.images.build(fileobj=buf, custom_context=True, tag=tag, rm=True)
    return tag


ECOSYSTEMS = ("Debian:12", "npm", "PyPI", "Go", "Maven")
CACHE = Path("/var/tmp/containerkit-bench")


def synthetic(vuln_id: str, ecosystem: str, name: str, rng: random.Random) -> dict[str, object]:
    """A record shaped like OSV's: an ECOSYSTEM range with a fix, aliases, a CVSS vector on half of them."""
    major = rng.randint(0, 5)
    fixed = f"{major}.{rng.randint(0, 30)}.{rng.randint(0, 9)}"
    if ecosystem.startswith("Debian"):
        fixed = f"{major}.{rng.randint(0, 30)}-{rng.randint(1, 9)}+deb12u{rng.randint(1, 5)}"
    record: dict[str, object] = {
        "schema_version": "1.6.0",
        "id": vuln_id,
        "modified": "2026-11-30T00:00:00Z",
        "published": "2024-01-01T00:00:00Z",
        "aliases": [f"CVE-2024-{rng.randint(10000, 99999)}"],
        "summary": f"synthetic advisory for {name}",
        "details": "A flaw in input handling lets a remote attacker cause a denial of service. " * 3,
        "affected": [
            {
                "package": {"ecosystem": ecosystem, "name": name},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}],
            }
        ],
        "references": [{"type": "ADVISORY", "url": f"https://example.invalid/{vuln_id}"}],
    }
    if rng.random() < 0.5:
        record["severity"] = [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}]
    return record


def make_db(records: int, image_packages: list[tuple[str, str]]) -> Path:
    """The benchmark database (generated once per size and image), indexed as `db update` does."""
    import zipfile

    root = CACHE / f"osv-{records}"
    if (root / "containerkit-db.json").is_file():
        return root
    rng = random.Random(16)
    real = sorted((ROOT / "tests" / "data" / "scan" / "osv").rglob("*.json"))
    docs: dict[str, list[tuple[str, bytes]]] = {eco: [] for eco in ECOSYSTEMS}
    for path in real:
        if path.name != "containerkit-db.json":
            docs["Debian:12" if "Debian" in path.parts or "CVE" in path.parts else "PyPI"].append(
                (path.name, path.read_bytes())
            )
    count = sum(len(v) for v in docs.values())
    for eco, name in image_packages:  # twenty for each package the image has
        target = eco if eco in docs else "PyPI"
        for _ in range(20):
            count += 1
            docs[target].append((f"SYN-{count}.json", json.dumps(synthetic(f"SYN-{count}", eco, name, rng)).encode()))
    while count < records:
        count += 1
        eco = ECOSYSTEMS[count % len(ECOSYSTEMS)]
        name = f"pkg-{rng.randint(0, 60000)}"
        docs[eco].append((f"SYN-{count}.json", json.dumps(synthetic(f"SYN-{count}", eco, name, rng)).encode()))
    part = root.with_name(root.name + ".part")
    for eco, members in docs.items():
        (part / eco.split(":")[0]).mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(
            part / eco.split(":")[0] / "all.zip", "w", zipfile.ZIP_DEFLATED, compresslevel=1
        ) as archive:
            for member, raw in members:
                archive.writestr(member, raw)
    # the metadata `db update` writes: what each ecosystem holds and when it was downloaded
    import datetime as dt

    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    (part / "containerkit-db.json").write_text(
        json.dumps(
            {
                "ecosystems": {
                    eco.split(":")[0]: {
                        "ecosystem": eco.split(":")[0],
                        "records": len(members),
                        "updated_at": stamp,
                        "source": "bench",
                    }
                    for eco, members in docs.items()
                }
            }
        )
    )
    part.rename(root)
    return root


def index_db(root: Path) -> tuple[float, int]:
    started = time.perf_counter()
    stats = osv.build_index(root)
    return time.perf_counter() - started, stats.records


def parse_everything(root: Path) -> float:
    """What every scan did before the index: read and parse each record of the database."""
    started = time.perf_counter()
    for _, raw in osv._iter_documents(root):
        json.loads(raw)
    return time.perf_counter() - started


async def syft_alone(image: str, out: Path) -> float:
    started = time.perf_counter()
    await _proc.run(
        [syft_binary(), "scan", f"docker:{image}", "-q", "-o", f"syft-json={out}"],
        env={"SYFT_CHECK_FOR_APP_UPDATE": "false"},
        timeout=900,
    )
    return time.perf_counter() - started


async def builtin_scan(image: str, db: Path, workdir: Path) -> tuple[float, float, int, int]:
    started = time.perf_counter()
    syft = await run_syft(image, workdir)
    after_syft = time.perf_counter()
    output = await BuiltinScanner(db, 7).scan(ScanInput(image=image, workdir=workdir, syft=syft))
    merged, _ = merge({"builtin": output.findings})
    return time.perf_counter() - started, time.perf_counter() - after_syft, len(syft.sbom.packages), len(merged)


async def main_async(image: str, db: Path | None, records: int, runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        await syft_alone(image, work / "warm.json")  # warm the engine's layer cache and syft's image cache
        if db is None:
            sbom = (await run_syft(image, work / "inventory")).sbom
            db = make_db(records, sorted({(p.ecosystem, osv.advisory_name(p)) for p in sbom.packages if p.ecosystem}))
        built, indexed = index_db(db)
        alone, results = [], []
        for i in range(runs):  # interleaved, so load from other work on the machine hits both alike
            alone.append(await syft_alone(image, work / f"alone{i}.json"))
            results.append(await builtin_scan(image, db, work / f"scan{i}"))
        before = parse_everything(db)
    total = [r[0] for r in results]
    matching = [r[1] for r in results]
    syft_s, total_s, match_s = statistics.median(alone), statistics.median(total), statistics.median(matching)
    print(f"image {image}: {results[0][2]} packages, {results[0][3]} findings; database {db}: {indexed} records")
    print(f"index build (once, at db update):       {built:.1f} s")
    print(f"syft alone (syft-json):                 median {syft_s:.2f} s  runs {', '.join(f'{x:.2f}' for x in alone)}")
    print(
        f"built-in scan (syft json+cdx + OSV):    median {total_s:.2f} s  runs {', '.join(f'{x:.2f}' for x in total)}"
    )
    print(f"  of which database read + matching:    median {match_s * 1000:.0f} ms (target <= 500 ms)")
    print(f"  without the index (parse every record, as each scan did before): {before:.1f} s")
    print(f"built-in scan / syft alone:             {total_s / syft_s:.2f}x ({total_s - syft_s:+.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--image", default=None)
    parser.add_argument("--db", type=Path, default=None, help="an OSV database instead of the generated one")
    parser.add_argument("--records", type=int, default=300_000, help="size of the generated database")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    image = args.image or build_image("ck-bench-scan:latest")
    anyio.run(main_async, image, args.db, args.records, args.runs)


if __name__ == "__main__":
    main()
