"""Build the web page's "Browse" data: real validation drawings of each class, ordered by q.

    python -m service.web.examples                      # writes service/static/examples.json
    python -m service.web.examples --data DIR --per-group 8

For every class of the model, the drawings of that category's Quick, Draw! file that fall in the training
split's validation part (sketchprep.split, the one definition of the split) are scored exactly as the
service scores them (sketchprep preprocessing, the model's ONNX file on ONNX Runtime padded to the service's
length buckets, the card's percentile tables), sorted by q, and the bottom, middle and top `per_group` are
kept with their q, percentile and predicted class. The file records the model it was computed with;
GET /v1/examples serves it and says whether it matches the loaded model (tests/web checks it against
POST /score and against the data).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from service.web.page import EXAMPLES_FILE
from service.web.schemas import GROUPS
from sketchprep.card import ModelCard
from sketchprep.split import split_of

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "quickdraw"
LICENCE = "Quick, Draw! data (c) Google, CC BY 4.0, https://github.com/googlecreativelab/quickdraw-dataset"
BATCH = 64


def score_drawings(model_dir: Path, drawings: list[list[list[list[int]]]]) -> list[dict[str, Any]]:
    """q, percentile and predicted class of each Quick, Draw! drawing, computed like POST /score does."""
    from service.core.settings import Settings
    from service.inference.engine import Engine
    from service.inference.loaded_model import LoadedModel
    from service.inference.outputs import RawScore
    from sketchprep.preprocess import collate, sketch_to_points
    from sketchprep.strokes import strokes_from_drawing

    model = LoadedModel.load(model_dir)
    settings = Settings(model_dir=model_dir, device="cpu", intra_op_threads=1)
    engine = Engine(model, settings)
    points = [sketch_to_points(strokes_from_drawing(d), model.preprocess) for d in drawings]  # (T_i, 7) each
    # Padded to the service's length buckets, as its batcher does, so q is bit for bit the service's.
    buckets = settings.buckets_for(model.preprocess.max_points)
    by_bucket: dict[int, list[int]] = {}
    for i, p in enumerate(points):
        by_bucket.setdefault(next(b for b in buckets if b >= len(p)), []).append(i)
    out: list[dict[str, Any]] = [{} for _ in points]
    for bucket, members in by_bucket.items():
        for start in range(0, len(members), BATCH):
            chunk = members[start:start + BATCH]
            batch, lengths = collate([points[i] for i in chunk], bucket)  # (B, bucket, 7), (B,)
            res = engine.run(batch, lengths)
            for j, i in enumerate(chunk):
                r = model.interpret(RawScore(float(res.q[j]), res.cos[j], int(res.pred[j])), 1, None)
                out[i] = {"quality": r.quality, "quality_percentile": r.quality_percentile,
                          "class": model.classes[r.class_index]}
    return out


def pick(n: int, per_group: int) -> dict[str, list[int]]:
    """Positions (into a list sorted by q, lowest first) of the bottom, middle and top groups."""
    k = min(per_group, n // len(GROUPS))
    mid = n // 2 - k // 2  # centred on the median
    return {"bottom": list(range(k)), "middle": list(range(mid, mid + k)), "top": list(range(n - k, n))}


def build(data: Path, model_dir: Path, per_group: int) -> dict[str, Any]:
    from sketchprep.formats import read_ndjson

    card = ModelCard.load(model_dir)
    categories: dict[str, Any] = {}
    for category in card.classes:
        path = data / f"{category}.ndjson.gz"
        if not path.exists():
            raise SystemExit(f"no data for class {category!r} at {path}")
        records = [r for r in read_ndjson(path) if split_of(r.strokes) == "val"]
        drawings = [[[np.round(s[:, 0]).astype(int).tolist(), np.round(s[:, 1]).astype(int).tolist()]
                     for s in r.strokes] for r in records]
        scores = score_drawings(model_dir, drawings)
        order = sorted(range(len(records)), key=lambda i: (scores[i]["quality"], records[i].key_id or ""))
        groups: dict[str, list[dict[str, Any]]] = {}
        for group, positions in pick(len(order), per_group).items():
            groups[group] = [{
                "rank": pos + 1, "key_id": records[order[pos]].key_id, "recognized": records[order[pos]].recognized,
                "quality": scores[order[pos]]["quality"],
                "quality_percentile": scores[order[pos]]["quality_percentile"],
                "class": scores[order[pos]]["class"], "strokes": drawings[order[pos]]} for pos in positions]
        categories[category] = {"validation_count": len(records), "groups": groups}
        print(f"{category}: {len(records)} validation drawings")
    return {"model": {"name": card.name, "version": card.version, "sha256": card.onnx.sha256},
            "split": card.data.get("split", "validation split of sketchprep.split.split_of"),
            "licence": LICENCE, "per_group": per_group, "categories": categories}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="Quick, Draw! folder (<category>.ndjson.gz)")
    parser.add_argument("--model-dir", type=Path, default=REPO / "models" / "gacl")
    parser.add_argument("--per-group", type=int, default=8, help="drawings in each of bottom, middle and top")
    parser.add_argument("--out", type=Path, default=EXAMPLES_FILE)
    args = parser.parse_args(argv)
    doc = build(args.data, args.model_dir, args.per_group)
    args.out.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
