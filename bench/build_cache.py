"""Build a small app twice (the second time unchanged) and print both durations and cached-step counts.

Run: .venv/bin/python bench/build_cache.py   (needs the engine; uses a temp dir and removes the image)
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

import anyio

from containerkit.engine.builder import BuildOptions
from containerkit.engine.service import Engine
from containerkit.settings import load_settings

DOCKERFILE = """FROM python:3.12-slim
WORKDIR /app
COPY requirements.txt .
RUN python3 -c "import sys; print(sys.version)" > /app/python-version.txt
RUN echo {marker} > /app/build-marker.txt
COPY . .
CMD ["python3", "app.py"]
"""


async def main() -> None:
    engine = Engine.from_settings(load_settings())
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "Dockerfile").write_text(DOCKERFILE.format(marker=uuid.uuid4().hex))
        (root / "requirements.txt").write_text("")
        (root / "app.py").write_text("print('hello')\n")
        (root / ".dockerignore").write_text("*.pyc\n__pycache__/\n")
        # a git checkout, as a real app is: the OCI `created` label is the commit time, so an unchanged commit rebuilds
        # identically
        git = ["git", "-C", tmp, "-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
        for step in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "app"]):
            await anyio.run_process([*git, *step])
        tag = f"ck-bench-cache:{uuid.uuid4().hex[:8]}"

        async def quiet(progress: float, total: float | None, message: str) -> None:
            return None

        results = []
        for _ in range(2):
            outcome = await engine.build(BuildOptions(context_dir=root, tags=(tag,)), quiet, lambda log: None)
            results.append(outcome)
    for label, r in zip(("first build (cold)", "second build (unchanged)"), results, strict=True):
        print(
            f"{label:26s} {r.duration_s:6.2f} s   cached steps {r.cache.cached}/{r.cache.steps}   strategy "
            f"{r.strategy.name}"
        )
    print(f"same image id: {results[0].image_id == results[1].image_id}")
    await engine.remove_image(tag)
    engine.close()


if __name__ == "__main__":
    anyio.run(main)
