"""The screenshot of `sketchq clean`'s report.html in the README (docs/offline/report.png): the validation drawings
of the model's classes with 10 % of their labels flipped to other classes (seeded), cleaned, and the report
rendered by Debian's chromium through Playwright.

    .venv/bin/python scripts/render_clean_report.py --data ../shared/data/quickdraw --out docs/offline/report.png
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import shutil
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from offline.cli import main as sketchq
from sketchprep.card import ModelCard
from sketchprep.split import split_of
from sketchprep.strokes import strokes_from_drawing


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=Path("models/gacl"))
    ap.add_argument("--data", type=Path, default=Path("../shared/data/quickdraw"))
    ap.add_argument("--out", type=Path, default=Path("docs/offline/report.png"))
    ap.add_argument("--flip", type=float, default=0.1)
    args = ap.parse_args()
    classes = ModelCard.load(args.model).classes
    rng = random.Random(0)
    objs = []
    for c in classes:
        with gzip.open(args.data / f"{c}.ndjson.gz", "rt") as fh:
            objs += [o for o in map(json.loads, fh) if split_of(strokes_from_drawing(o["drawing"])) == "val"]
    for o in objs:
        if rng.random() < args.flip:
            o["word"] = rng.choice([c for c in classes if c != o["word"]]).replace("_", " ")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "val-flipped.ndjson"
        src.write_text("".join(json.dumps(o) + "\n" for o in objs))
        out = Path(tmp) / "cleaned"
        if sketchq(["clean", str(src), "--out", str(out), "--model", str(args.model), "--no-progress"]) != 0:
            raise SystemExit("sketchq clean failed")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(out / "report.html", args.out.with_suffix(".html"))
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"))
            page = browser.new_page(viewport={"width": 1150, "height": 1400})
            page.goto((out / "report.html").as_uri())
            page.screenshot(path=str(args.out), full_page=False)
            browser.close()
    print(f"wrote {args.out} and {args.out.with_suffix('.html')}")


if __name__ == "__main__":
    main()
