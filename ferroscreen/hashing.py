"""File digests recorded in provenance (model bundles, registry checks, reports)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of the file at ``path``, read in ``chunk``-byte blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def files_digest(paths, root: str | Path) -> tuple[str, int]:
    """One sha256 standing for the content and names of a set of files, and how many there are.

    The digest covers, sorted by name, each file's name relative to ``root`` (its absolute path
    when outside it) and its own :func:`file_sha256`; paths naming the same file count once. A
    copy of the folder elsewhere gives the same digest; a renamed, added, removed or edited file
    does not.
    """
    base = Path(root).resolve()
    names: dict[str, Path] = {}
    for p in paths:
        full = Path(p).resolve()
        try:
            name = full.relative_to(base).as_posix()
        except ValueError:
            name = full.as_posix()
        names[name] = full
    h = hashlib.sha256()
    for name in sorted(names):
        h.update(f"{name}\0{file_sha256(names[name])}\n".encode())
    return h.hexdigest(), len(names)


#: Bundle metadata keys :func:`bundle_content_sha256` leaves out: when and on what software the bundle
#: was written (``created``, ``environment``), and the digest itself.
BUNDLE_VOLATILE_META = ("created", "environment", "content_sha256")


def payload_content_sha256(state_dict: dict, meta: dict, int8_graph: bytes | None = None) -> str:
    """The content digest of a model bundle's parts (see :func:`bundle_content_sha256` for what it covers).

    ``state_dict`` maps names to tensors (anything with ``detach``) or arrays; ``meta`` is the bundle
    metadata; ``int8_graph`` the int8 graph's bytes, if any.
    """
    import json

    import numpy as np

    h = hashlib.sha256()
    kept = {k: v for k, v in meta.items() if k not in BUNDLE_VOLATILE_META}
    h.update(b"meta\0" + json.dumps(kept, sort_keys=True, separators=(",", ":"), default=str).encode() + b"\n")
    for name in sorted(state_dict):
        value = state_dict[name]
        if hasattr(value, "detach"):  # a tensor: its bytes as stored (bfloat16 has no numpy dtype)
            import torch

            value = value.detach().cpu().contiguous()
            dtype, shape = str(value.dtype), list(value.shape)
            raw = value.reshape(-1).view(torch.uint8).numpy().tobytes()
        else:
            value = np.ascontiguousarray(value)
            dtype, shape, raw = str(value.dtype), list(value.shape), value.tobytes()
        h.update(f"tensor\0{name}\0{dtype}\0{shape}\0{len(raw)}\n".encode())
        h.update(raw)
    if int8_graph is not None:
        h.update(f"int8_graph\0{len(int8_graph)}\n".encode())
        h.update(bytes(int8_graph))
    return h.hexdigest()


def bundle_content_sha256(path: str | Path) -> str:
    """One sha256 standing for what a model bundle scores with, the same for two bundles trained alike.

    Unlike :func:`file_sha256` of the file, it leaves out when and on what software the bundle was
    written (:data:`BUNDLE_VOLATILE_META`: ``meta["created"]``, ``meta["environment"]`` and
    ``meta["content_sha256"]`` itself), and pickling's own bytes. It covers, in this order: the rest of
    ``meta`` as JSON with sorted keys (classes, crop size, normalisation, detector, temperature,
    training data, validation, hyperparameters, ``int8`` and the rest); every ``state_dict`` tensor in
    name order (name, dtype, shape and its raw bytes); and the int8 graph's bytes when the bundle
    holds one. The bundle is read with ``torch.load(weights_only=True)`` (no code runs); the file's
    ``format`` fields are not covered.

    ``train`` records this digest as ``meta["content_sha256"]`` (:func:`payload_content_sha256` of what
    it writes). A tool that rewrites a bundle (``quantize``: a new int8 graph) changes it; compare
    bundles by calling this function on their files, not by the recorded value.

    Raises:
        ModelBundleError: One line naming the file when it is missing, unreadable or no ferroscreen bundle.
    """
    import torch

    from ferroscreen.errors import ModelBundleError
    from ferroscreen.models.load_errors import describe_load_error, require_bundle_file

    path = require_bundle_file(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt files
        raise ModelBundleError(f"{path}: not a readable model bundle: {describe_load_error(exc, path)}") from None
    if not isinstance(payload, dict) or payload.get("format") != "ferroscreen-bundle":
        raise ModelBundleError(f"{path}: not a ferroscreen model bundle (was it written by `ferroscreen train`?)")
    graph = payload.get("int8_graph")
    if graph is not None:
        graph = graph.numpy().tobytes() if hasattr(graph, "numpy") else bytes(graph)
    return payload_content_sha256(payload.get("state_dict") or {}, payload.get("meta") or {}, graph)
