"""What outputs record of the software that made them: versions, the git commit, the command, the time.

:func:`environment` is the record a fit's ``provenance.json`` and ``results.xlsx`` and a model bundle's
metadata carry (``environment``): ferroscreen's version (which stays put between releases), and, when
the package runs from a git checkout, the commit and whether tracked files differ from it; Python's
version, the versions of the libraries the numbers depend on, and the platform. :func:`command_line`
is how the run was started; :func:`created_now` the time every output writes (UTC, ISO 8601). None of
them raises: what cannot be found is left out.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import platform
import re
import subprocess
import sys
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from ferroscreen import __version__

__all__ = ["LIBRARIES", "RESULT_FOLDERS", "bundle_training_record", "command_line", "created_now", "environment",
           "git_state", "made_by", "replaced_run_note"]

#: The libraries :func:`environment` records: name in the record -> (module, distributions to ask, in order).
LIBRARIES = {
    "numpy": ("numpy", ("numpy",)),
    "pandas": ("pandas", ("pandas",)),
    "scipy": ("scipy", ("scipy",)),
    "statsmodels": ("statsmodels", ("statsmodels",)),
    "torch": ("torch", ("torch",)),
    "torchvision": ("torchvision", ("torchvision",)),
    "lightning": ("pytorch_lightning", ("pytorch-lightning", "lightning")),
    "onnxruntime": ("onnxruntime", ("onnxruntime", "onnxruntime-gpu")),  # int8 scoring
    "opencv": ("cv2", ("opencv-python", "opencv-python-headless", "opencv-contrib-python",
                       "opencv-contrib-python-headless")),  # detection, image decoding
    "tifffile": ("tifffile", ("tifffile",)),
    "h5py": ("h5py", ("h5py",)),
    "matplotlib": ("matplotlib", ("matplotlib",)),
}

#: Seconds a ``git`` call may take before the commit is left out.
GIT_TIMEOUT_S = 5.0

#: The package's checkout: the folder above ``ferroscreen/`` (a git checkout when it holds ``.git``).
_CHECKOUT = Path(__file__).resolve().parent.parent

#: Folders of the checkout whose untracked files make it dirty (:func:`git_state`): the code and configs that
#: results depend on; an untracked file elsewhere (notes, outputs, data) does not change a result.
RESULT_FOLDERS = ("ferroscreen", "configs")


def created_now() -> str:
    """The current time in UTC as ISO 8601 to the second (``2025-01-31T09:15:02+00:00``), as every output writes it."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def _version_file(module: str) -> str | None:
    """The ``__version__ = '...'`` literal of the package's ``version.py``, read as text; ``None`` when there is none.

    torch's and torchvision's carry the build (``2.4.1+cu121``) that their distributions' metadata lacks.
    """
    try:
        spec = importlib.util.find_spec(module)  # a top-level name: found on sys.path, not imported
        folders = list(spec.submodule_search_locations or []) if spec is not None else []
        text = (Path(folders[0]) / "version.py").read_text(encoding="utf-8") if folders else ""
    except (ImportError, ValueError, OSError, UnicodeDecodeError):
        return None
    found = re.search(r"^__version__\s*=\s*['\"]([^'\"]+)['\"]", text, re.MULTILINE)
    return found.group(1) if found else None


def _library_version(module: str, distributions: tuple[str, ...]) -> str | None:
    """The version of a library, read without importing it; ``None`` when it is not installed.

    The ``__version__`` of a module imported already, else its ``version.py``'s literal
    (:func:`_version_file`), else its installed distribution's (``importlib.metadata``), so that
    a run that imported torch and one that did not record the same.
    """
    loaded = sys.modules.get(module)
    found = getattr(loaded, "__version__", None) if loaded is not None else None
    if isinstance(found, str) and found:
        return str(found)  # a plain str: torch's TorchVersion would not load from a bundle (weights_only)
    if (found := _version_file(module)) is not None:
        return found
    for dist in distributions:
        try:
            return version(dist)
        except PackageNotFoundError:
            continue
    return None


@functools.cache
def git_state(root: str | Path = _CHECKOUT) -> tuple[str, bool] | None:
    """``(commit, dirty)`` of the git checkout ``root``, or ``None`` when it is none or git cannot say.

    ``root`` must hold ``.git`` itself (a folder, or a worktree's file): a package installed into
    site-packages is not taken for a checkout of whatever repository lies above it. ``dirty`` is
    whether the code run may differ from the commit: tracked files anywhere differ from it (staged or
    not), or a file under :data:`RESULT_FOLDERS` (``ferroscreen/``, ``configs/``) is untracked and not
    git-ignored (a new module or config the commit lacks, which the run may have imported or read).
    Untracked files elsewhere and ignored files (``__pycache__``, build outputs) do not count. Each
    ``git`` call has :data:`GIT_TIMEOUT_S`; a missing ``git``,
    a timeout or a failing call gives ``None``. Cached per ``root`` for the life of the process.

    Nothing in ``root`` is written: ``git status`` runs without optional locks (``GIT_OPTIONAL_LOCKS=0``,
    ignored by a git older than 2.15), so it neither takes ``.git/index.lock`` nor rewrites the index
    (a shared install's checkout, read by every job at once, or one the user cannot write).
    """
    root = Path(root)
    if not (root / ".git").exists():
        return None
    env = {k: v for k, v in os.environ.items() if k not in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE")}
    env["GIT_OPTIONAL_LOCKS"] = "0"

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True,
                              timeout=GIT_TIMEOUT_S, env=env, stdin=subprocess.DEVNULL).stdout.strip()

    try:
        commit = git("rev-parse", "--verify", "HEAD")
        dirty = (git("status", "--porcelain", "--untracked-files=no") != ""
                 or git("status", "--porcelain", "--untracked-files=all", "--", *RESULT_FOLDERS) != "")
    except (OSError, subprocess.SubprocessError):
        return None
    return (commit, dirty) if commit else None


def environment() -> dict:
    """The software a run used: ``ferroscreen``, ``git_commit``, ``git_dirty``, ``python``, libraries, ``platform``.

    ``ferroscreen`` is the package's version; ``git_commit`` (full hash) and ``git_dirty`` (tracked
    files changed since it, or untracked ones in the package or ``configs/``) are there only when the
    package runs from a git checkout (:func:`git_state`). ``python`` is the interpreter's version;
    ``numpy`` ... ``matplotlib`` (:data:`LIBRARIES`: the numerical stack, torch and Lightning, onnxruntime,
    OpenCV, tifffile, h5py) each its installed version, read without importing it, left out when not
    installed; ``platform`` is :func:`platform.platform` (OS, kernel, machine).
    """
    record: dict = {"ferroscreen": __version__}
    git = git_state()
    if git is not None:
        record["git_commit"], record["git_dirty"] = git
    record["python"] = platform.python_version()
    for name, (module, distributions) in LIBRARIES.items():
        found = _library_version(module, distributions)
        if found is not None:
            record[name] = found
    record["platform"] = platform.platform()
    return record


#: What :func:`bundle_training_record` keeps of a bundle's ``training_data`` (and of each of its ``acquisitions``).
TRAINING_DATA_KEYS = ("source", "images_sha256", "image_files", "layout_sha256")


def bundle_training_record(meta: dict) -> dict:
    """What an auditor needs of a model bundle's training, from its metadata (``Bundle.meta``).

    ``content_sha256`` (the digest of the bundle's parts, :func:`ferroscreen.hashing.bundle_content_sha256`),
    ``created``, the ferroscreen version and git commit it was trained with (``ferroscreen``,
    ``git_commit``, ``git_dirty``: its ``environment``), and of its ``training_data``, ``source``,
    ``images_sha256``, ``image_files`` and ``layout_sha256`` (each acquisition's under ``acquisitions``
    when it was trained on several). What the bundle does not record is left out (older bundles).
    """
    env = meta.get("environment") if isinstance(meta.get("environment"), dict) else {}
    data = meta.get("training_data") if isinstance(meta.get("training_data"), dict) else {}
    record = {k: meta[k] for k in ("content_sha256", "created") if meta.get(k) is not None}
    found = env.get("ferroscreen") or meta.get("ferroscreen_version")
    if found:
        record["ferroscreen"] = str(found)
    record.update({k: env[k] for k in ("git_commit", "git_dirty") if k in env})
    training = {k: data[k] for k in TRAINING_DATA_KEYS if data.get(k) is not None}
    several = [a for a in data.get("acquisitions") or [] if isinstance(a, dict)]
    if several:
        training["acquisitions"] = [{k: a.get(k) for k in TRAINING_DATA_KEYS} for a in several]
    if training:
        record["training_data"] = training
    return record


def command_line() -> dict:
    """How this process was started: ``argv`` (``sys.argv`` as a list) and ``cwd`` (the working directory)."""
    try:
        cwd = os.getcwd()
    except OSError:  # the working directory was removed
        cwd = None
    return {"argv": [str(a) for a in sys.argv], "cwd": cwd}


def made_by(record: dict) -> tuple[str | None, str | None]:
    """``(ferroscreen version, git commit)`` a provenance record (``provenance.json``'s) names; ``None``: absent."""
    env = record.get("environment") if isinstance(record.get("environment"), dict) else {}
    found = env.get("ferroscreen") or record.get("ferroscreen_version")
    commit = env.get("git_commit")
    return (str(found) if found else None), (str(commit) if commit else None)


def _described(found: str | None, commit: str | None) -> str:
    return f"ferroscreen {found or '(version not recorded)'}, " + (f"commit {commit[:12]}" if commit
                                                                    else "no commit recorded")


def replaced_run_note(path: str | Path, now: dict | None = None) -> str | None:
    """A note when the provenance record at ``path`` was made by another ferroscreen than this one, else ``None``.

    Another version, or another git commit (a record naming none, made before commits were
    recorded or outside a checkout, differs from a run that names one, and the other way round);
    the note names both, so that a refit over an older results folder does not replace it silently.
    ``now`` is this run's :func:`environment` (taken when ``None``). A missing or unreadable record
    gives ``None``.
    """
    import json

    try:
        old = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(old, dict):
        return None
    now = environment() if now is None else now
    was, is_now = made_by(old), made_by({"environment": now})
    if was == is_now:
        return None
    return (f"{path} was written by {_described(*was)}; this run ({_described(*is_now)}) replaces it and the "
            f"results beside it")
