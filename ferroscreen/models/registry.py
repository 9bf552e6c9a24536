"""A small registry of pretrained models shipped with (or placed beside) ferroscreen.

Each entry maps a name (``nuclei-aits``) to a file name, its sha256 and the
task it serves. :func:`resolve_model` turns what a user typed into a verified
local file:

1. an existing file path is used as is (a local model the user trained; no
   hash to check against unless ``sha256`` is given);
2. a registered name is looked up first in the directory named by the
   environment variable ``FERROSCREEN_MODEL_DIR`` (a local override, e.g. a
   site-wide model folder), then in the package's ``models/weights/`` folder;
   the file's sha256 must equal the registered one.

Nothing is ever downloaded. Other tasks (e.g. the death-mode classifier)
register their models with :func:`register_model`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ferroscreen.errors import ModelBundleError, missing_file
from ferroscreen.hashing import file_sha256

__all__ = [
    "MODEL_DIR_ENV",
    "PACKAGE_WEIGHTS_DIR",
    "ModelHashError",
    "RegisteredModel",
    "UnknownModelError",
    "file_sha256",
    "get_model",
    "list_models",
    "register_model",
    "resolve_model",
]

#: Folder holding the weights files shipped inside the package.
PACKAGE_WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"

#: Environment variable naming a folder searched before the packaged weights.
MODEL_DIR_ENV = "FERROSCREEN_MODEL_DIR"


class UnknownModelError(ModelBundleError):
    """A model name that is neither registered nor an existing file."""


class ModelHashError(ModelBundleError):
    """A model file whose sha256 differs from the registered one (corrupt or replaced)."""


@dataclass(frozen=True)
class RegisteredModel:
    """One pretrained model.

    Attributes:
        name: Registry key users type (``--model nuclei-aits``).
        task: What the model does (``nuclei-segmentation``, ``death-mode``...).
        filename: File name inside the weights folder(s).
        sha256: Hex digest the file must have.
        description: One line for ``list_models``.
        source: Training data and its licence/citation.
    """

    name: str
    task: str
    filename: str
    sha256: str
    description: str = ""
    source: str = ""


_REGISTRY: dict[str, RegisteredModel] = {}


def register_model(model: RegisteredModel, overwrite: bool = False) -> RegisteredModel:
    """Add ``model`` to the registry (``overwrite`` to replace an entry of the same name)."""
    if model.name in _REGISTRY and not overwrite and _REGISTRY[model.name] != model:
        raise ValueError(f"model '{model.name}' is already registered")
    if len(model.sha256) != 64:
        raise ValueError(f"model '{model.name}': sha256 must be 64 hex digits")
    _REGISTRY[model.name] = model
    return model


def list_models(task: str | None = None) -> list[RegisteredModel]:
    """Registered models, optionally only those of ``task``, sorted by name."""
    return sorted((m for m in _REGISTRY.values() if task is None or m.task == task), key=lambda m: m.name)


def get_model(name: str) -> RegisteredModel:
    """The registry entry of ``name``.

    Raises:
        UnknownModelError: ``name`` is not registered.
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(m.name for m in list_models()) or "none"
        raise UnknownModelError(
            f"unknown model '{name}': give a registered name ({known}) or a path to a file"
        ) from None


def _search_dirs() -> list[Path]:
    dirs = []
    env = os.environ.get(MODEL_DIR_ENV)
    if env:
        dirs.append(Path(env))
    dirs.append(PACKAGE_WEIGHTS_DIR)
    return dirs


def resolve_model(name_or_path: str | Path, task: str | None = None, sha256: str | None = None) -> Path:
    """A verified local file for a registered name or a path.

    Args:
        name_or_path: Registered name, or path to a model file.
        task: When given, a registered name must belong to this task.
        sha256: Expected digest of a *path* (registered names use their own).

    Returns:
        Path of the model file.

    Raises:
        UnknownModelError: Not registered and not an existing file, or a
            registered model of another task.
        ModelHashError: The file's sha256 differs from the expected one.
        ModelBundleError: A registered model whose file is in none of the folders.
    """
    path = Path(name_or_path).expanduser()
    if path.is_file():
        if sha256 is not None and file_sha256(path) != sha256.lower():
            raise ModelHashError(f"{path}: sha256 does not match the expected {sha256[:12]}...")
        return path
    name = str(name_or_path)
    if any(sep in name for sep in ("/", "\\")) or path.suffix in (".pt", ".pth", ".ckpt"):
        raise UnknownModelError(missing_file(path, "model file"))
    entry = get_model(name)
    if task is not None and entry.task != task:
        raise UnknownModelError(f"model '{name}' is a {entry.task} model, not {task}")
    for folder in _search_dirs():
        candidate = folder / entry.filename
        if candidate.is_file():
            digest = file_sha256(candidate)
            if digest != entry.sha256:
                raise ModelHashError(
                    f"{candidate}: sha256 {digest[:12]}... differs from the registered "
                    f"{entry.sha256[:12]}... for '{name}' (corrupt or replaced file; reinstall "
                    "ferroscreen or remove the override)"
                )
            return candidate
    searched = ", ".join(str(d) for d in _search_dirs())
    raise ModelBundleError(f"model '{name}': file {entry.filename} not found in {searched}")
