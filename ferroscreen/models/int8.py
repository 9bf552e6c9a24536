"""Int8 inference: a bundle's network as a statically quantised ONNX graph run by ONNX Runtime on CPU.

The graph takes the crops the torch network takes, float32 (B, 1, S, S) with
S the bundle's crop size, and returns logits (B, n_classes); temperature and
softmax are applied afterwards, as :meth:`DeathModeNet.predict_proba` does.
Every convolution and the head run in int8: weights per output channel
(symmetric int8), activations per tensor (asymmetric uint8) with ranges fixed
beforehand from calibration crops (min/max). That makes the forward pass of
MobileNetV2 at 64 px ~2.5x faster than bfloat16 autocast on an AVX512-VNNI CPU
(see ``benchmarks/score_throughput.py``).

The quantised graph is computed once, when a bundle is written or by
``ferroscreen quantize``, and stored in the bundle (raw bytes in a uint8
tensor, so bundles still load with ``weights_only=True``). Its metadata
(``meta["int8"]``) records the calibration crops, the ONNX Runtime version and
the argmax agreement with the float32 network on held-out crops.

``onnxruntime`` and ``onnx`` are imported only here, and only when a graph is
built or run.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ferroscreen.cores import usable_cores  # noqa: F401 - its callers import it from here too

OPSET = 17
#: Crops per calibration batch (the calibration session's memory grows with it; ranges are reduced per batch).
CALIBRATION_BATCH = 32
MAX_CALIBRATION_CROPS = 1024


class _Logits(nn.Module):
    """The network's logits with batch norms folded (what the graph holds)."""

    def __init__(self, net) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def runtime_available() -> bool:
    """Whether ONNX Runtime and ONNX are installed (int8 inference and quantisation need both).

    Checked without importing them: an imported ONNX Runtime slows torch's
    forward pass in the same process by ~10 % (measured with bfloat16 scoring).
    """
    from importlib.util import find_spec

    return find_spec("onnxruntime") is not None and find_spec("onnx") is not None


def export_onnx(net, crop_size: int, channels: int = 1) -> bytes:
    """The float32 network (eval mode) as ONNX bytes; input ``crops`` (B, channels, S, S), output ``logits``."""
    net = net.for_inference() if hasattr(net, "for_inference") else net.eval()
    x = torch.zeros((2, channels, crop_size, crop_size))
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer and legacy-exporter notices
        torch.onnx.export(
            _Logits(net).eval(), (x,), buf, dynamo=False, opset_version=OPSET, input_names=["crops"],
            output_names=["logits"], dynamic_axes={"crops": {0: "batch"}, "logits": {0: "batch"}},
        )
    return buf.getvalue()


def quantize_onnx(graph: bytes, calibration: np.ndarray) -> bytes:
    """Static int8 quantisation of a float ONNX graph, activation ranges from ``calibration``.

    Args:
        graph: Float32 ONNX bytes from :func:`export_onnx`.
        calibration: Crops (N, S, S) or (N, C, S, S) normalised as the bundle
            normalises them; at most :data:`MAX_CALIBRATION_CROPS` are used (the
            first ones: callers pass them in a seeded random order).

    Raises:
        ValueError: No calibration crops.
    """
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    crops = _as_batch(calibration)[:MAX_CALIBRATION_CROPS]
    if len(crops) == 0:
        raise ValueError("no calibration crops")

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter(range(0, len(crops), CALIBRATION_BATCH))

        def get_next(self):
            i = next(self.batches, None)
            return None if i is None else {"crops": crops[i : i + CALIBRATION_BATCH]}

    with tempfile.TemporaryDirectory(prefix="ferroscreen-int8-") as tmp:
        f32, pre, q = Path(tmp, "f32.onnx"), Path(tmp, "pre.onnx"), Path(tmp, "int8.onnx")
        f32.write_bytes(graph)
        quant_pre_process(str(f32), str(pre))
        with warnings.catch_warnings(), _root_log_level(logging.ERROR):
            warnings.simplefilter("ignore")  # the quantiser also logs per-tensor notices to the root logger
            quantize_static(
                str(pre), str(q), Reader(), quant_format=QuantFormat.QOperator, per_channel=True,
                activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                calibrate_method=CalibrationMethod.MinMax,
            )
        return q.read_bytes()


def build_int8(net, crop_size: int, calibration: np.ndarray, check: np.ndarray | None = None) -> tuple[bytes, dict]:
    """Quantise ``net`` and measure it against float32 on ``check`` crops (default: the calibration crops).

    Returns:
        The int8 graph and its metadata for ``meta["int8"]``: ``sha256``,
        ``calibration_crops``, ``check_crops``, ``argmax_agreement`` (fraction
        of check crops whose top class matches float32), ``mean_abs_prob_diff``,
        ``onnxruntime`` (version), ``opset``.
    """
    import onnxruntime

    graph = quantize_onnx(export_onnx(net, crop_size, _as_batch(calibration).shape[1]), calibration)
    check = _as_batch(calibration if check is None else check)
    runner = Int8Forward(graph, float(net.temperature))
    with torch.inference_mode():
        ref = torch.cat([net.eval().predict_proba(torch.from_numpy(check[i : i + 256])) for i in
                         range(0, len(check), 256)]) if len(check) else torch.zeros((0, 1))
    got = runner.predict_proba_numpy(check) if len(check) else np.zeros((0, 1), np.float32)
    ref = ref.numpy()
    meta = {
        "sha256": hashlib.sha256(graph).hexdigest(),
        "calibration_crops": int(min(len(calibration), MAX_CALIBRATION_CROPS)),
        "check_crops": int(len(check)),
        "argmax_agreement": float((got.argmax(1) == ref.argmax(1)).mean()) if len(check) else None,
        "mean_abs_prob_diff": float(np.abs(got - ref).mean()) if len(check) else None,
        "onnxruntime": onnxruntime.__version__,
        "opset": OPSET,
    }
    return graph, meta


class Int8Forward:
    """Calibrated probabilities from an int8 graph (ONNX Runtime, CPU); sessions open on first use.

    ``threads`` (default: torch's intra-op thread count, at most the CPUs this
    process may run on) single-threaded sessions share every batch,
    concurrently (ONNX Runtime releases the GIL): each takes the next
    :data:`CHUNK` crops until none are left, so a session whose thread the
    decode/detect workers pre-empt takes fewer chunks instead of leaving the
    others idle at the end of the batch. Unlike one multi-threaded session, no
    thread waits at per-operator barriers for such a straggler: ~7 % more
    crops/s alone, more beside the workers. (One session's cost per crop is
    flat from 8 to 256 crops per run.) Outputs do not depend on ``threads``
    (each crop's result is computed alone).

    Picklable before first use (spawned DDP ranks get the bytes, not sessions).
    """

    #: Fewest crops per session: smaller batches run in one session.
    MIN_SHARE = 16
    #: Crops per session run when a batch is shared (~15 ms of one core for MobileNetV2 at 64 px).
    CHUNK = 32

    def __init__(self, graph: bytes, temperature: float, threads: int | None = None) -> None:
        self.graph = graph
        self.temperature = float(temperature)
        self.threads = threads
        self._sessions: list | None = None
        self._pool = None

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_sessions"] = None
        state["_pool"] = None
        return state

    def sessions(self) -> list:
        """The ONNX Runtime sessions, one thread each (created on first call), and their thread pool."""
        if self._sessions is None:
            from concurrent.futures import ThreadPoolExecutor

            import onnxruntime as ort

            n = max(1, int(self.threads or min(torch.get_num_threads(), usable_cores())))
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 1
            opts.inter_op_num_threads = 1
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            opts.log_severity_level = 3
            self._sessions = [ort.InferenceSession(self.graph, opts, providers=["CPUExecutionProvider"])
                              for _ in range(n)]
            self._pool = ThreadPoolExecutor(n, thread_name_prefix="ferroscreen-int8")
        return self._sessions

    def submit(self, crops) -> PendingLogits:
        """Start the logits of crops (N, S, S) or (N, C, S, S) on the session threads; returns at once.

        Batches submitted one after another start in that order (a later one
        may use a session thread that an earlier, smaller one leaves free);
        each gets its own crops' logits. The caller keeps the crops unchanged
        until :meth:`PendingLogits.result`.
        """
        crops = _as_batch(crops)
        sessions = self.sessions()
        n = min(len(sessions), max(1, len(crops) // self.MIN_SHARE))
        step = self.CHUNK if n > 1 else max(len(crops), 1)
        starts = range(0, max(len(crops), 1), step)  # an empty batch still runs once: (0, n_classes)
        chunks = iter(starts)  # shared by the session threads; next() on a range iterator holds the GIL
        out: list = [None] * len(starts)

        def work(session) -> None:
            for start in chunks:
                out[start // step] = session.run(["logits"], {"crops": crops[start : start + step]})[0]

        return PendingLogits([self._pool.submit(work, s) for s in sessions[:n]], out)

    def logits(self, crops: np.ndarray) -> np.ndarray:
        """Logits (N, n_classes) for crops (N, S, S) or (N, 1, S, S)."""
        return self.submit(crops).result()

    def predict_proba_numpy(self, crops: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Softmax(logits / temperature), float32 (N, n_classes), in batches."""
        crops = _as_batch(crops)
        out = [self.logits(crops[i : i + batch_size]) for i in range(0, len(crops), batch_size)]
        return softmax(np.concatenate(out), self.temperature) if out else np.zeros((0, 0), np.float32)

    def predict_proba(self, crops: torch.Tensor) -> torch.Tensor:
        """Like :meth:`DeathModeNet.predict_proba`: (B, n_classes) float32 tensor for a crop tensor."""
        return torch.from_numpy(softmax(self.logits(crops.detach().cpu().numpy()), self.temperature))


class PendingLogits:
    """Logits of a batch still running on :class:`Int8Forward`'s session threads."""

    def __init__(self, futures: list, parts: list) -> None:
        self._futures = futures
        self._parts = parts

    def result(self) -> np.ndarray:
        """Wait for the batch; logits (N, n_classes). Raises what a session raised."""
        for f in self._futures:
            f.result()
        return np.concatenate(self._parts)


def graph_output_width(graph: bytes) -> int | None:
    """The last dimension of an ONNX graph's first output (its logits per class); ``None`` when not fixed or unreadable.

    Needs only ``onnx`` (``None`` without it): a bundle's graph is checked against its class list on load.
    """
    try:
        import onnx

        model = onnx.load_model_from_string(graph)
        dims = model.graph.output[0].type.tensor_type.shape.dim
    except Exception:  # noqa: BLE001 - no onnx, or not a graph: the int8 session reports it when used
        return None
    if not dims or not dims[-1].HasField("dim_value"):
        return None
    return int(dims[-1].dim_value)


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row softmax of ``logits / temperature`` in float32 (numpy: torch's thread pool stays idle)."""
    z = np.asarray(logits, np.float32) / np.float32(temperature)
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


@contextlib.contextmanager
def _root_log_level(level: int):
    root = logging.getLogger()
    old = root.level
    root.setLevel(max(level, old))
    try:
        yield
    finally:
        root.setLevel(old)


def _as_batch(crops) -> np.ndarray:
    x = np.ascontiguousarray(crops, dtype=np.float32)
    return x[:, None] if x.ndim == 3 else x
