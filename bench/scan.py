"""Built-in scan time of a typical Python image versus running syft alone on it.

    .venv/bin/python bench/scan.py [--image IMAGE] [--db tests/data/scan/osv] [--runs 3]

Without --image it builds `ck-bench-scan:latest` (python:3.12-slim + requests/urllib3/idna) with the docker SDK.
The built-in scan = syft (SBOM, syft-json + CycloneDX) + loading the OSV records for the SBOM's packages + matching.
"""

from __future__ import annotations

import argparse
import io
import statistics
import tarfile
import tempfile
import time
from pathlib import Path

import anyio

from containerkit import _proc
from containerkit.scan.backends import BuiltinScanner, ScanInput
from containerkit.scan.merge import merge
from containerkit.scan.sbom import run_syft, syft_binary

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ("FROM python:3.12-slim\nRUN pip install --no-cache-dir --break-system-packages requests==2.25.0 urllib3==1.26.4 "
              "idna==2.10 chardet==3.0.4 certifi==2024.8.30\n")


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


async def syft_alone(image: str, out: Path) -> float:
    started = time.perf_counter()
    await _proc.run([syft_binary(), "scan", f"docker:{image}", "-q", "-o", f"syft-json={out}"],
                    env={"SYFT_CHECK_FOR_APP_UPDATE": "false"}, timeout=900)
    return time.perf_counter() - started


async def builtin_scan(image: str, db: Path, workdir: Path) -> tuple[float, float, int, int]:
    started = time.perf_counter()
    syft = await run_syft(image, workdir)
    after_syft = time.perf_counter()
    output = await BuiltinScanner(db, 7).scan(ScanInput(image=image, workdir=workdir, syft=syft))
    merged, _ = merge({"builtin": output.findings})
    return time.perf_counter() - started, time.perf_counter() - after_syft, len(syft.sbom.packages), len(merged)


async def main_async(image: str, db: Path, runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        await syft_alone(image, work / "warm.json")  # warm the engine's layer cache and syft's image cache
        alone, results = [], []
        for i in range(runs):  # interleaved, so load from other work on the machine hits both alike
            alone.append(await syft_alone(image, work / f"alone{i}.json"))
            results.append(await builtin_scan(image, db, work / f"scan{i}"))
    total = [r[0] for r in results]
    matching = [r[1] for r in results]
    print(f"image {image}: {results[0][2]} packages, {results[0][3]} findings (database {db})")
    print(f"syft alone (syft-json):                 median {statistics.median(alone):.2f} s  runs {', '.join(f'{x:.2f}' for x in alone)}")
    print(f"built-in scan (syft json+cdx + OSV):    median {statistics.median(total):.2f} s  runs {', '.join(f'{x:.2f}' for x in total)}")
    print(f"  of which database load + matching:   median {statistics.median(matching) * 1000:.0f} ms")
    print(f"overhead over syft alone:               {statistics.median(total) - statistics.median(alone):+.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--image", default=None)
    parser.add_argument("--db", type=Path, default=ROOT / "tests" / "data" / "scan" / "osv")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    image = args.image or build_image("ck-bench-scan:latest")
    anyio.run(main_async, image, args.db, args.runs)


if __name__ == "__main__":
    main()
