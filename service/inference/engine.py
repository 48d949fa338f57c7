"""ONNX Runtime session: the run call (plain or IO-bound), warm-up, the providers in use.

Providers are chosen by service.inference.providers; after loading, `session.get_providers()` is what is
reported (readiness, `sketchq_model_info`), and with device=cuda a fallback to the CPU is a start-up error.

IO binding: inputs are copied to the device once (`OrtValue.ortvalue_from_numpy`) and the outputs are
bound on the device and copied back together, instead of ORT staging every input per run. It is the
default for CUDA; it works (and is tested) on the CPU too, where it gives the same numbers.

`Engine.run` is thread-safe: ORT sessions may be run from several threads at once.
"""

from __future__ import annotations

import logging

import numpy as np
import onnxruntime as ort

from service.core.errors import InferenceError, ModelLoadError
from service.core.settings import Settings
from service.inference.loaded_model import LoadedModel
from service.inference.outputs import EngineOutputs
from service.inference.providers import CUDA, select_providers

log = logging.getLogger("service.engine")

INPUTS = ("points", "lengths")
OUTPUTS = ("q", "cos", "pred")


class Engine:
    def __init__(self, model: LoadedModel, settings: Settings) -> None:
        self.model = model
        requested = select_providers(settings.device, ort.get_available_providers(), settings.cuda_device_id)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = settings.intra_op_threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Worker threads must not spin between batches: the event loop needs the CPU.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(str(model.onnx_path), opts, providers=requested)
        except Exception as e:  # ORT raises its own exception types
            raise ModelLoadError(f"ONNX Runtime cannot load {model.onnx_path}: {e}") from e
        self.providers: list[str] = list(self.session.get_providers())
        asked = [p if isinstance(p, str) else p[0] for p in requested]
        if CUDA in asked and CUDA not in self.providers:
            if settings.device == "cuda":
                raise ModelLoadError("device=cuda but ONNX Runtime fell back to the CPU (CUDA libraries missing?)")
            log.warning("CUDA execution provider requested but not active; running on %s", self.providers)
        self.device = "cuda" if CUDA in self.providers else "cpu"
        self.device_id = settings.cuda_device_id if self.device == "cuda" else 0
        self.io_binding = settings.io_binding == "on" or (settings.io_binding == "auto" and self.device == "cuda")
        self._check_signature()
        log.info("model %s %s loaded: providers=%s io_binding=%s", model.name, model.version, self.providers,
                 self.io_binding)

    def _check_signature(self) -> None:
        inputs = [i.name for i in self.session.get_inputs()]
        outputs = [o.name for o in self.session.get_outputs()]
        if sorted(inputs) != sorted(INPUTS) or not set(OUTPUTS) <= set(outputs):
            raise ModelLoadError(f"model has inputs {inputs} and outputs {outputs}; expected {INPUTS} -> {OUTPUTS}")

    def run(self, points: np.ndarray, lengths: np.ndarray) -> EngineOutputs:
        """points (B, T, 7) float32, zero-padded; lengths (B,) int64 -> outputs for the B sketches."""
        try:
            if self.io_binding:
                q, cos, pred = self._run_bound(points, lengths)
            else:
                q, cos, pred = self.session.run(list(OUTPUTS), {"points": points, "lengths": lengths})
        except Exception as e:
            raise InferenceError(f"ONNX Runtime failed on a batch of shape {points.shape}: {e}") from e
        return EngineOutputs(q=q, cos=cos, pred=pred)

    def _run_bound(self, points: np.ndarray, lengths: np.ndarray) -> list[np.ndarray]:
        binding = self.session.io_binding()
        # One host->device copy per input; the OrtValues must stay alive until the run is over.
        points_dev = ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(points), self.device, self.device_id)
        lengths_dev = ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(lengths), self.device, self.device_id)
        binding.bind_ortvalue_input("points", points_dev)
        binding.bind_ortvalue_input("lengths", lengths_dev)
        for name in OUTPUTS:  # ORT allocates each output on the device (shapes depend on B)
            binding.bind_output(name, self.device, self.device_id)
        binding.synchronize_inputs()
        self.session.run_with_iobinding(binding)
        binding.synchronize_outputs()
        return binding.copy_outputs_to_cpu()  # device->host, in bind order

    def warmup(self, lengths: list[int], batch_sizes: list[int]) -> None:
        """Run every (batch size, bucket length) shape once so first requests do not pay for allocation."""
        dim = self.model.card.preprocess.feature_dim
        for t in lengths:
            for b in batch_sizes:
                points = np.zeros((b, t, dim), dtype=np.float32)  # (B, T, 7)
                points[:, :, 0] = np.linspace(-1.0, 1.0, t, dtype=np.float32)
                points[:, -1, 6] = 1.0
                out = self.run(points, np.full((b,), t, dtype=np.int64))
                if not np.isfinite(out.q).all():
                    raise ModelLoadError(f"warm-up produced non-finite outputs at shape {points.shape}")
