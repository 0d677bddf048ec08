"""Analysis speed on a generated 50,000-file repository (target: well under a few seconds).

.venv/bin/python bench/analyze.py [--files 50000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from containerkit.analysis import analyze


def make_repo(root: Path, files: int) -> None:
    (root / "requirements.txt").write_text("flask>=3\nredis\n")
    (root / "app.py").write_text(
        'import os\nfrom flask import Flask\napp = Flask(__name__)\n\n@app.get("/health")\n'
        'def h():\n    return "ok"\n\napp.run(port=int(os.environ.get("PORT", "8000")))\n'
    )
    (root / "node_modules" / "big").mkdir(parents=True)
    for i in range(2000):
        (root / "node_modules" / "big" / f"f{i}.js").write_text("module.exports = 1;\n")
    per_dir = 200
    for i in range(files):
        d = root / "pkg" / f"m{i // (per_dir * 10)}" / f"d{i // per_dir}"
        if i % per_dir == 0:
            d.mkdir(parents=True, exist_ok=True)
        (d / f"mod_{i}.py").write_text(f"VALUE_{i} = {i}\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=50_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        make_repo(root, args.files)
        print(f"generated {args.files} files in {time.perf_counter() - t0:.1f} s")
        for run in (1, 2):
            t0 = time.perf_counter()
            result = analyze(root)
            took = time.perf_counter() - t0
            s = result.services[0]
            print(
                f"run {run}: analyzed {result.files_scanned} files in {took:.2f} s "
                f"({s.language}/{s.framework}, port {s.port}, health {s.health_path})"
            )


if __name__ == "__main__":
    main()
