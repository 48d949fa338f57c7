"""The naive peer of the side-by-side benchmark (issue 17): what a typical engineer writes in an afternoon.

FastAPI + ONNX Runtime, one process, uvicorn's defaults (but log level warning, as sketchq runs in the
benchmark). POST /score takes sketchq's request body (`{"sketches": [{"strokes": [[xs, ys], ...], "label":
"cat"}, ...]}`), parses it with a pydantic model, preprocesses every sketch with the project's sketchprep code
(the PreprocessConfig read from the model card), pads the request's sketches to the longest and runs them as
one batch, one `InferenceSession.run` per request (a plain `def` endpoint: FastAPI runs it in its thread
pool), and answers q and the predicted class per sketch: `{"results": [{"quality": q, "class": "cat"}, ...]}`
(the keys of sketchq's answer). The ORT session has its defaults (as many intra-op threads as cores). No
micro-batching across requests, no cache, no limits.

GET /healthz answers 200 once the model is loaded (the benchmark and the tests poll it).

    python bench/peers/naive_server.py --model-dir models/gacl --port 8100
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import onnxruntime as ort
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel

from sketchprep.card import ModelCard
from sketchprep.preprocess import collate, sketch_to_points
from sketchprep.strokes import strokes_from_drawing


class Sketch(BaseModel):
    strokes: list[list[list[float]]]  # Quick, Draw! drawing: per stroke [xs, ys(, ts)]
    label: str | None = None


class ScoreRequest(BaseModel):
    sketches: list[Sketch]


def create_app(model_dir: Path) -> FastAPI:
    """The app for one exported model folder (model_card.json + the ONNX file it names)."""
    card = ModelCard.load(model_dir)
    cfg = card.preprocess.config()
    session = ort.InferenceSession(str(card.onnx_path(model_dir)), providers=["CPUExecutionProvider"])
    classes = card.classes
    app = FastAPI(title="naive sketch scorer")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/score")
    def score(req: ScoreRequest) -> dict[str, Any]:
        points = [sketch_to_points(strokes_from_drawing(s.strokes), cfg) for s in req.sketches]  # (T_i, 7) each
        batch, lengths = collate(points)  # (B, max T_i, 7), (B,)
        q, pred = session.run(["q", "pred"], {"points": batch, "lengths": lengths})
        return {"results": [{"quality": float(q[i]), "class": classes[int(pred[i])]} for i in range(len(points))]}

    return app


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", type=Path, default=Path("models/gacl"))
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8100)
    args = ap.parse_args()
    uvicorn.run(create_app(args.model_dir), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
