"""Strict JSON for the files and printouts users read: NaN and infinity written as ``null``.

Python's ``json`` writes a float NaN as a bare ``NaN`` (and infinity as ``Infinity``), which is not
JSON: ``jq``, JavaScript's ``JSON.parse`` and R's ``jsonlite`` refuse the whole file. A missing value in
a results summary (a gene without an area reading, a plate without a Z′) is ``null`` here instead.
:func:`strict_json_value` converts a value (dicts, lists, numpy and pandas scalars and arrays, paths,
dates), :func:`dumps_strict` writes it with ``allow_nan=False`` so nothing non-finite slips through,
and :func:`write_json` puts it in a file.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path, PurePath

import numpy as np
import pandas as pd

__all__ = ["dumps_strict", "strict_json_value", "write_json"]


def strict_json_value(value):
    """``value`` as plain JSON types, with every NaN, infinity and missing value (``pd.NA``, ``NaT``) ``None``.

    Dicts (keys as strings), lists, tuples and sets are converted item by item; numpy scalars and arrays,
    pandas Series and DataFrames (records) become Python numbers and lists; paths become strings, dates
    ISO 8601; anything else its ``str``.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {_key(k): strict_json_value(v) for k, v in value.items()}
    if isinstance(value, pd.DataFrame):
        return [strict_json_value(r) for r in value.to_dict("records")]
    if isinstance(value, (pd.Series, np.ndarray)):
        return [strict_json_value(v) for v in value.tolist()]
    if isinstance(value, (list, tuple, set, frozenset)):
        return [strict_json_value(v) for v in value]
    if isinstance(value, (PurePath, Path)):
        return str(value)
    if value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, (datetime, date, pd.Timestamp)):
        return value.isoformat()
    if isinstance(value, np.generic):
        return strict_json_value(value.item())
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def _key(key) -> str:
    """A dict key JSON can write (it makes a string of a number, a bool or None), numpy scalars by their value."""
    if isinstance(key, np.generic):
        key = key.item()
    return key if key is None or isinstance(key, (str, int, float, bool)) else str(key)


def dumps_strict(value, indent: int | None = 1) -> str:
    """``value`` as strict JSON text (:func:`strict_json_value`; ``allow_nan=False``)."""
    return json.dumps(strict_json_value(value), indent=indent, allow_nan=False)


def write_json(path: str | Path, value, indent: int | None = 1) -> Path:
    """Write ``value`` to ``path`` as strict JSON (:func:`dumps_strict`), ending in a newline; returns ``path``."""
    path = Path(path)
    path.write_text(dumps_strict(value, indent=indent) + "\n", encoding="utf-8")
    return path
