"""What a Chinese report costs over an English one: wall seconds per language and the embedded font's size.

    .venv/bin/python benchmarks/i18n_report_bench.py [--scenario scenarios/example/mclp.toml] [--repeat 2]

Each row builds the report of the same scenario (its solve is re-used after the first run) in one language and
prints the wall seconds, the page size, the embedded CJK font subset (characters and kB; none in English unless
names are Chinese) and the seconds spent subsetting it. The first row also pays the solve and imports.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "example" / "mclp.toml"))
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    from siting.i18n import fonts
    from siting.workflow.reporting import build_report

    source = Path(args.scenario).resolve()
    work = Path(tempfile.mkdtemp(prefix="i18n-bench-"))
    scenario_dir = work / "scenario"
    shutil.copytree(source.parent, scenario_dir)
    scenario = scenario_dir / source.name
    text = scenario.read_text(encoding="utf-8")
    if not re.search(r"^crs\s*=", text, re.M):  # the report's GeoPackage needs a CRS
        scenario.write_text(text.replace("[data]\n", '[data]\ncrs = "EPSG:32648"\n', 1), encoding="utf-8")
    print(f"{'run':>3} {'lang':>4} {'wall s':>7} {'page kB':>8} {'CJK chars':>9} {'font kB':>8} {'subset s':>8}")
    for run in range(args.repeat):
        for lang in ("en", "zh"):
            fonts._subset.cache_clear()  # noqa: SLF001 - time the subsetting every run
            spent = [0.0]
            original = fonts._subset.__wrapped__  # noqa: SLF001

            def timed(chars: str, _original=original, _spent=spent) -> bytes:
                t = time.perf_counter()
                out = _original(chars)
                _spent[0] += time.perf_counter() - t
                return out

            fonts._subset = timed  # noqa: SLF001
            t0 = time.perf_counter()
            rep = build_report(scenario, out_dir=work / "out", quiet=True, language=lang)
            wall = time.perf_counter() - t0
            fonts._subset = fonts.functools.lru_cache(maxsize=8)(original)  # noqa: SLF001
            page = rep.html.read_text(encoding="utf-8")
            face = re.search(r"base64,([A-Za-z0-9+/=]+)\) format\(\"opentype\"\)", page)
            chars = len(set(re.findall(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]", page)))
            font_kb = len(face.group(1)) * 3 / 4 / 1024 if face else 0.0
            print(f"{run:>3} {lang:>4} {wall:>7.2f} {len(page) / 1024:>8.0f} {chars:>9} {font_kb:>8.0f} "
                  f"{spent[0]:>8.2f}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
