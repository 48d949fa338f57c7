"""The Triton peer of the side-by-side benchmark (issue 17): NVIDIA Triton through PyTriton, on the CPU.

A Python callable bound to Triton with a dynamic batcher and several model instances (each instance its own
callable and its own ONNX Runtime session, run by PyTriton in its own thread of this process; Triton runs
the HTTP front end, the batcher and one Python-backend stub process per instance). One model, `sketchq`:

- input `sketch`: BYTES, shape [1] per item: one sketch's JSON as sketchq receives it in its body's
  `sketches` list (`{"strokes": [[xs, ys], ...], "label": "cat"}`; the label is not used). A request
  carries n sketches as shape [n, 1], so Triton parses nothing but the JSON envelope and the callable
  does what sketchq does per sketch: JSON parsing, the project's preprocessing (sketchprep, PreprocessConfig
  from the model card), the same ONNX model (one `InferenceSession.run` per batch Triton forms, padded to
  the batch's longest sketch);
- outputs `quality` (FP64, q as float(q) of the model's float32, like sketchq's answer) and `class` (BYTES,
  the predicted class's name).

Clients use Triton's HTTP KServe-v2 JSON protocol:
`POST /v2/models/sketchq/infer` with `{"inputs": [{"name": "sketch", "shape": [n, 1], "datatype": "BYTES",
"data": ["{...}", ...]}]}`. Ready when `GET /v2/models/sketchq/ready` answers 200.

Runs in the Triton venv (Python 3.12 with a shared libpython; `bench/peers/setup_triton.sh`) with the
checkout on PYTHONPATH (sketchprep) and the venv's libpython on LD_LIBRARY_PATH:

    LD_LIBRARY_PATH=/root/.pyenv/versions/3.12.1/lib PYTHONPATH=. bench/.venv-triton/bin/python \
        bench/peers/triton_server.py --model-dir models/gacl --http-port 8200

The defaults are the configuration kept after the short sweep described in bench/README.md ("Side by side
with Triton and a naive server").
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import socket
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort
from pytriton.decorators import batch
from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor
from pytriton.triton import Triton, TritonConfig

from sketchprep.card import ModelCard
from sketchprep.preprocess import collate, sketch_to_points
from sketchprep.strokes import strokes_from_drawing

MODEL_NAME = "sketchq"


def make_callable(model_dir: Path, card: ModelCard, ort_threads: int) -> Callable[..., dict[str, np.ndarray]]:
    """One instance's inference callable, with its own ORT session."""
    cfg = card.preprocess.config()
    classes = np.array([c.encode() for c in card.classes], dtype=object)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = ort_threads
    opts.inter_op_num_threads = 1
    session = ort.InferenceSession(str(card.onnx_path(model_dir)), opts, providers=["CPUExecutionProvider"])

    @batch
    def infer(sketch: np.ndarray) -> dict[str, np.ndarray]:
        """sketch: (B, 1) object array of JSON bytes -> quality (B, 1) float64, class (B, 1) bytes."""
        points = [sketch_to_points(strokes_from_drawing(json.loads(s)["strokes"]), cfg) for s in sketch[:, 0]]
        batch_points, lengths = collate(points)  # (B, max T_i, 7), (B,)
        q, pred = session.run(["q", "pred"], {"points": batch_points, "lengths": lengths})
        return {"quality": q.astype(np.float64).reshape(-1, 1), "class": classes[pred].reshape(-1, 1)}

    return infer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_once(signum: int, frame: object) -> None:
    """The first SIGTERM stops Triton as Ctrl-C does (PyTriton stops tritonserver and cleans up); later ones
    are ignored so that they cannot interrupt that clean-up."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", type=Path, default=Path("models/gacl"))
    ap.add_argument("--http-port", type=int, default=8200)
    ap.add_argument("--instances", type=int, default=2, help="model instances (callables, ORT sessions)")
    ap.add_argument("--ort-threads", type=int, default=1, help="ORT intra-op threads per instance")
    ap.add_argument("--max-batch", type=int, default=256, help="Triton max_batch_size (>= sketches per request)")
    ap.add_argument("--max-queue-delay-us", type=int, default=500, help="dynamic batcher max_queue_delay")
    ap.add_argument("--preferred-batch", type=int, nargs="*", default=[16, 64],
                    help="dynamic batcher preferred_batch_size (none: Triton's default)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    signal.signal(signal.SIGTERM, stop_once)  # SIGTERM stops Triton like Ctrl-C

    card = ModelCard.load(args.model_dir)
    callables = [make_callable(args.model_dir, card, args.ort_threads) for _ in range(args.instances)]
    config = TritonConfig(http_address="127.0.0.1", http_port=args.http_port, grpc_address="127.0.0.1",
                          grpc_port=free_port(), metrics_port=free_port(), allow_gpu_metrics=False,
                          log_verbose=0)
    batcher = DynamicBatcher(max_queue_delay_microseconds=args.max_queue_delay_us,
                             preferred_batch_size=args.preferred_batch or None)
    with Triton(config=config) as triton:
        triton.bind(
            model_name=MODEL_NAME,
            infer_func=callables,
            inputs=[Tensor(name="sketch", dtype=bytes, shape=(1,))],
            outputs=[Tensor(name="quality", dtype=np.float64, shape=(1,)),
                     Tensor(name="class", dtype=bytes, shape=(1,))],
            config=ModelConfig(max_batch_size=args.max_batch, batcher=batcher),
            strict=False,
        )
        triton.serve()


if __name__ == "__main__":
    main()
