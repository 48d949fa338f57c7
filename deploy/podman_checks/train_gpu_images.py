"""The training image (a real export job) and the GPU image's stages on a stand-in for its CUDA base."""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from pathlib import Path

from .podman_cli import Podman
from .report import Report
from .settings import CACHE, GPU_STANDIN_IMAGE, REPO, TRAIN_IMAGE, UID


def check_train_image(podman: Podman, report: Report) -> None:
    cfg = podman.inspect("image", TRAIN_IMAGE)["Config"]
    report.equal("training image: USER is the non-root uid 10001", cfg.get("User"), f"{UID}:{UID}")
    report.equal("training image: entry point sketchq-train", cfg.get("Entrypoint"), ["sketchq-train"])
    p = podman("run", "--rm", TRAIN_IMAGE, check=False, quiet=True)
    report.check("training image: `sketchq-train --help` runs", p.returncode == 0 and "usage" in p.stdout.lower(),
                 p.stdout[-200:] + p.stderr[-300:])
    p = podman("run", "--rm", "--entrypoint", "python", TRAIN_IMAGE, "-c",
               "import os, torch, onnxruntime, training.cli; "
               "print(torch.__version__, torch.version.cuda, onnxruntime.__version__, os.getuid())", quiet=True)
    report.equal("training image: torch 2.13.0 (CUDA 13.0 build), onnxruntime, the training code, uid 10001",
                 p.stdout.split(), ["2.13.0+cu130", "13.0", "1.32.0", UID])
    # A real job without training: export the shipped scorer's checkpoint to ONNX, as models/gacl was made.
    with tempfile.TemporaryDirectory(dir=CACHE) as runs:
        os.chmod(runs, 0o777)  # noqa: S103 (the container's uid 10001 writes here)
        with report.timed("train_image_export"):
            p = podman("run", "--rm", "-v", f"{REPO / 'checkpoints' / 'gacl'}:/ckpt:ro", "-v", f"{runs}:/runs",
                       TRAIN_IMAGE, "export", "/ckpt/model.pt", "--out", "/runs/gacl", "--name", "gacl",
                       check=False, timeout=600)
        onnx = Path(runs) / "gacl" / "model.onnx"
        got = hashlib.sha256(onnx.read_bytes()).hexdigest() if onnx.exists() else p.stdout[-300:] + p.stderr[-500:]
        want = hashlib.sha256((REPO / "models" / "gacl" / "model.onnx").read_bytes()).hexdigest()
        report.equal("training image: exporting checkpoints/gacl gives the bytes of models/gacl/model.onnx",
                     got, want)


def check_gpu_standin(podman: Podman, report: Report) -> None:
    """The GPU variant's build steps (apt python3, the lock with onnxruntime-gpu, `pip check`, the non-root
    user, SKETCHQ_DEVICE=cuda) on the Debian Python base instead of nvidia/cuda (which cannot be pulled here):
    not the GPU image, but proof its Dockerfile stages work; and without CUDA it must refuse to start, not
    fall back to the CPU."""
    env = dict(e.split("=", 1) for e in podman.inspect("image", GPU_STANDIN_IMAGE)["Config"].get("Env", []))
    report.equal("GPU image (stand-in base): SKETCHQ_DEVICE is cuda", env.get("SKETCHQ_DEVICE"), "cuda")
    p = podman("run", "--rm", GPU_STANDIN_IMAGE, "python", "-c",
               "import importlib.metadata as m, onnxruntime as ort\n"
               "names = {d.metadata['Name'].lower() for d in m.distributions()}\n"
               "print(m.version('onnxruntime-gpu'), 'onnxruntime' in names, 'CUDAExecutionProvider' in "
               "ort.get_available_providers())", quiet=True)
    report.equal("GPU image (stand-in base): onnxruntime-gpu 1.31.1 alone, with its CUDA provider",
                 p.stdout.split(), ["1.31.1", "False", "True"])
    t = time.monotonic()
    p = podman("run", "--rm", "--read-only", "--tmpfs", "/tmp", GPU_STANDIN_IMAGE, check=False, quiet=True,
               timeout=120)
    out = p.stdout + p.stderr
    report.check("GPU image without CUDA: refuses to start (no silent CPU fallback)",
                 p.returncode != 0 and "fell back to the CPU" in out and "Application startup complete" not in out,
                 f"exit {p.returncode} after {time.monotonic() - t:.1f} s: "
                 + next((ln.strip() for ln in out.splitlines() if "ModelLoadError" in ln), out[-200:]))
