"""What ferroscreen's own outputs hold, for ``ferroscreen inspect``.

:func:`describe_output` recognises a score store (``.h5``, by its schema attribute), a fit's
``results.xlsx`` and a ``hits`` run's ``hits.xlsx`` (their ``about`` sheets), a fit's output folder, its
``provenance.json`` or one of its result tables (``fits.csv``, ``ranking.csv``... beside a fit's
``provenance.json``), a ``hits`` output folder, its ``hits.json`` or one of its tables (``genes.csv``...
beside a ``hits.json``), and a model file (``.pt``/``.pth``: a ``train`` bundle or a nuclei model, read by
their loaders, ``torch.load(weights_only=True)``); any other path is not an output (None) and ``inspect``
reads it as an input (:func:`ferroscreen.io.inspection.inspect_path`). :func:`render_output` turns a
description into the lines ``inspect`` prints: one screen, the same lines for the same file (``inspect``
prints each of :data:`OUTPUT_KINDS` with it).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ferroscreen.errors import FerroscreenError

#: First cell of the ``about`` sheet of a fit's ``results.xlsx``.
RESULTS_TITLE = "ferroscreen fit results"

#: A fit folder's tables, in the order they are described.
FIT_TABLES = ("fits.csv", "ranking.csv", "rescue.csv", "qc.csv", "lines.csv", "ec50_over_time.csv", "wells.csv",
              "readouts.csv", "fitted_points.csv")

#: A fit folder's tables that are inputs of a fit as well (``inspect`` reads them as such).
FIT_INPUTS = ("wells.csv", "fitted_points.csv")

#: First cell of the ``about`` sheet of a ``hits`` run's ``hits.xlsx``.
HITS_TITLE = "ferroscreen hits results"

#: A ``hits`` folder's tables, in the order they are described.
HITS_TABLES = ("genes.csv", "plate_qc.csv", "concordance.csv", "wells_normalized.csv")

#: Suffixes of model files (a ``train`` bundle, a nuclei model) that ``inspect`` describes.
MODEL_SUFFIXES = (".pt", ".pth")

#: The kinds :func:`describe_output` gives, each printed by :func:`render_output`.
OUTPUT_KINDS = ("score_store", "fit_results", "fit_output", "hits_results", "hits_output", "model_bundle",
                "nuclei_model")


def describe_output(path: Path) -> dict | None:
    """A JSON-ready description of ``path`` when ferroscreen wrote it, else None.

    Keys always present: ``kind`` (one of :data:`OUTPUT_KINDS`) and ``path``.

    Raises:
        FerroscreenError: An ``.h5`` file that is not a readable score store, a ``provenance.json`` or
            ``hits.json`` that is not JSON, or a ``.pt``/``.pth`` file that is no model file ferroscreen
            wrote (a :class:`~ferroscreen.errors.ModelBundleError` saying why), naming the file.
    """
    path = Path(path)
    suffix = path.suffix.lower() if path.is_file() else ""
    if suffix in (".h5", ".hdf5"):
        return _store_info(path)
    if suffix in MODEL_SUFFIXES:
        return _model_info(path)
    title = _workbook_title(path) if suffix in (".xlsx", ".xlsm") else None
    if title in (RESULTS_TITLE, HITS_TITLE):
        return _workbook_info(path, "fit_results" if title == RESULTS_TITLE else "hits_results")
    if path.is_dir() or path.name == "hits.json" or path.name in HITS_TABLES:
        folder = path if path.is_dir() else path.parent
        hits = _json_object(folder / "hits.json")
        if hits is not None and isinstance(hits.get("params"), dict) and "n_genes" in hits:
            return _hits_folder_info(folder, hits)
    own_table = path.name in FIT_TABLES and path.name not in FIT_INPUTS  # wells.csv and fitted_points.csv: inputs
    folder = path if path.is_dir() else path.parent if path.name == "provenance.json" or own_table else None
    if folder is not None and (folder / "provenance.json").is_file():
        return _fit_folder_info(folder)
    return None


def _json_object(path: Path) -> dict | None:
    """The JSON object in ``path``; None when there is no such file or it holds no object.

    Raises:
        FerroscreenError: A file that is not JSON, naming it.
    """
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FerroscreenError(f"{path}: not readable JSON ({str(exc).splitlines()[0]})") from None
    return record if isinstance(record, dict) else None


def _store_info(path: Path) -> dict:
    from ferroscreen.score.store import FAILED, PENDING, current_content_digest, read_store
    from ferroscreen.score.store_lock import store_writer

    store = read_store(path)
    a, frames = store.attrs, store.frames
    failed = frames[frames["status"] == FAILED]
    reasons = failed["reason"].astype(str).value_counts()
    times = sorted(float(t) for t in frames["time_h"].unique())
    return {
        "kind": "score_store",
        "path": str(path),
        "plate": a.get("plate"),
        "acquisition": a.get("acquisition"),
        "classes": store.classes,
        "task": a.get("task") or "",  # nuclei-segmentation: a segment store (its model a nuclei model, no bundle)
        "model": a.get("bundle_path") or a.get("model"),
        "model_sha256": a.get("bundle_sha256") or a.get("model_sha256"),
        "precision": a.get("precision"),
        "tta": bool(a.get("tta", False)),
        "channel": a.get("channel"),
        "z_plane": a.get("z_plane"),
        "ferroscreen_version": a.get("ferroscreen_version"),
        "created": a.get("created"),
        "updated": a.get("updated"),
        "n_frames": int(len(frames)),
        "frames_done": int((frames["status"] != PENDING).sum() - len(failed)),
        "frames_failed": int(len(failed)),
        "frames_pending": int((frames["status"] == PENDING).sum()),
        "journals": sorted(str(p) for p in path.with_name(path.name + ".parts").glob("rank-*.h5")),
        "writer_pid": store_writer(path),  # a live score run holds the store's lock (0: its pid not written yet)
        "failure_reasons": {str(k): int(v) for k, v in reasons.items()},
        "n_cells": int(frames["n_cells"].sum()),
        "n_wells": int(frames["well"].nunique()),
        "n_timepoints": len(times),
        "timepoints_h": [times[0], times[-1]] if times else [],
        "wells_aggregated": not store.wells.empty,
        "layout": a.get("layout_source") or (store.layout is not None),
        "layout_sha256": a.get("layout_sha256") or None,
        "frames_sha256": a.get("frames_sha256") or None,
        "frames_hashed": a.get("frames_hashed"),
        "content_sha256": current_content_digest(a),  # recorded by score (store.content_digest), if current
        "model_training": a.get("bundle_training") if isinstance(a.get("bundle_training"), dict) else None,
    }


def _workbook_title(path: Path) -> str | None:
    """The first cell of a workbook whose first sheet is ``about`` (ferroscreen's results), else None."""
    try:
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - not a workbook openpyxl reads: the input readers say why
        return None
    try:
        first = book.worksheets[0] if book.worksheets else None
        cell = next(first.iter_rows(max_row=1, max_col=1, values_only=True), (None,))[0] if first else None
        return str(cell) if first is not None and first.title == "about" and cell is not None else None
    finally:
        book.close()


def _workbook_info(path: Path, kind: str) -> dict:
    """A ``fit_results`` or ``hits_results`` workbook: version, inputs (and their sha256), rows per sheet."""
    from ferroscreen.workbooks import workbook_rows

    sheets: dict[str, list] = {}
    for title, _, row in workbook_rows(path, FerroscreenError):
        sheets.setdefault(title, []).append(row)
    rows = [r for r in sheets.get("about", []) if len(r) > 1 and r[0] not in ("", None)]
    about = {str(r[0]): r[1] for r in rows}
    out = {
        "kind": kind,
        "path": str(path),
        "ferroscreen_version": about.get("ferroscreen version"),
        "input": about.get("input"),
        "sheets": {title: max(0, len(rows) - 1) for title, rows in sheets.items() if title != "about"},
    }
    if kind == "hits_results":
        out["created"] = about.get("created (UTC)")
        out["files"] = [{"role": str(r[0]), "path": str(r[1]), "sha256": (r[2] or None) if len(r) > 2 else None}
                        for r in rows if r[0] in ("input", "layout")]
    return out


def _fit_folder_info(folder: Path) -> dict | None:
    prov_path = folder / "provenance.json"
    try:
        prov = json.loads(prov_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FerroscreenError(f"{prov_path}: not readable JSON ({str(exc).splitlines()[0]})") from None
    if not isinstance(prov, dict) or not isinstance(prov.get("fit"), dict):
        return None  # not a fit's record: read as an input
    layouts = prov.get("layout") or []
    layouts = layouts if isinstance(layouts, list) else [layouts]
    tables = {}
    for name in FIT_TABLES:
        if (folder / name).is_file():
            try:
                tables[name] = int(len(pd.read_csv(folder / name, usecols=[0])))
            except (ValueError, OSError, pd.errors.ParserError, pd.errors.EmptyDataError):
                tables[name] = None
    given = prov.get("input") if isinstance(prov.get("input"), dict) else {"path": prov.get("input")}
    scoring = prov.get("scoring") if isinstance(prov.get("scoring"), dict) else {}
    export = prov["fit"].get("export_record") if isinstance(prov["fit"].get("export_record"), dict) else {}
    from_store = str(given.get("path") or "").lower().endswith((".h5", ".hdf5"))
    out = {
        "kind": "fit_output",
        "path": str(folder),
        "ferroscreen_version": prov.get("ferroscreen_version"),
        "created": prov.get("created"),
        "input": given.get("path"),
        "input_sha256": given.get("sha256"),
        "inputs": [i.get("path") for i in prov.get("inputs") or [] if isinstance(i, dict)],
        "layout": [lay.get("path") for lay in layouts if isinstance(lay, dict)],
        "layout_sha256": [lay.get("sha256") for lay in layouts if isinstance(lay, dict)],
        # the score store the wells came from (the input itself, or the store an export's wells.csv was written from)
        "store": given.get("path") if from_store else export.get("store"),
        "store_sha256": given.get("sha256") if from_store else export.get("store_sha256"),
        "store_content_sha256": scoring.get("content_sha256") if from_store else export.get("store_content_sha256"),
        "model": scoring.get("bundle_path"),
        "model_sha256": scoring.get("bundle_sha256"),
        "model_training": scoring.get("bundle_training") if isinstance(scoring.get("bundle_training"), dict) else None,
        "options": prov["fit"],
        "tables": tables,
    }
    fits = folder / "fits.csv"
    if tables.get("fits.csv"):
        try:
            calls = pd.read_csv(fits, usecols=["call"])["call"].astype(str).value_counts()
            out["calls"] = {str(k): int(v) for k, v in calls.items()}
        except (ValueError, pd.errors.ParserError):
            pass
    return out


def _hits_folder_info(folder: Path, hits: dict) -> dict:
    """A ``hits`` output folder from its ``hits.json``: inputs and their sha256, settings, calls, tables."""
    params = hits["params"]
    layouts = hits.get("layout_sha256")
    layouts = {layouts} if isinstance(layouts, str) else set(layouts or [])
    tables = {}
    for name in HITS_TABLES:
        if (folder / name).is_file():
            try:
                tables[name] = int(len(pd.read_csv(folder / name, usecols=[0])))
            except (ValueError, OSError, pd.errors.ParserError, pd.errors.EmptyDataError):
                tables[name] = None
    return {
        "kind": "hits_output",
        "path": str(folder),
        "ferroscreen_version": hits.get("ferroscreen_version"),
        "created": hits.get("created"),
        "wells": hits.get("wells"),
        "inputs": [{"role": "layout" if i.get("sha256") in layouts else "input", "path": i.get("path"),
                    "sha256": i.get("sha256")} for i in hits.get("inputs") or [] if isinstance(i, dict)],
        "layout": hits.get("layout"),
        "layout_sha256": hits.get("layout_sha256"),
        "readouts": params.get("readouts") or [],
        "score": params.get("score"),
        "thresholds": {k: params[k] for k in ("count_threshold", "area_threshold", "lethal_threshold", "z_threshold",
                                              "fdr") if k in params},
        "n_plates": params.get("n_plates"),
        "n_control_wells": params.get("n_control_wells"),
        "n_genes": hits.get("n_genes"),
        "n_hits": hits.get("n_hits"),
        "top": [t for t in hits.get("top") or [] if isinstance(t, dict)],
        "warnings": list(hits.get("warnings") or []),
        "tables": tables,
        "plots": list(hits.get("plots") or []),
    }


def _model_info(path: Path) -> dict:
    """A model file as its loader reads it (``weights_only=True``): a ``train`` bundle, else a nuclei model.

    Raises:
        ModelBundleError: Neither (the bundle loader's reason), naming the file.
    """
    from ferroscreen.errors import ModelBundleError
    from ferroscreen.models.bundle import load_bundle

    try:
        bundle = load_bundle(path)
    except ModelBundleError:
        nuclei = _nuclei_model_info(path)
        if nuclei is None:
            raise
        return nuclei
    meta = bundle.meta
    data = meta.get("training_data") if isinstance(meta.get("training_data"), dict) else {}
    val = meta.get("validation") if isinstance(meta.get("validation"), dict) else {}
    int8 = meta.get("int8") if isinstance(meta.get("int8"), dict) else {}
    per_class = val.get("per_class") if isinstance(val.get("per_class"), dict) else {}
    return {
        "kind": "model_bundle",
        "path": str(path),
        "sha256": bundle.sha256,
        "content_sha256": meta.get("content_sha256"),
        "task": meta.get("task"),
        "classes": bundle.classes,
        "backbone": meta.get("backbone"),
        "init": meta.get("init"),
        "crop_size": bundle.crop_size,
        "input_size": meta.get("input_size"),
        "source_crop_px": bundle.source_crop_px,
        "next_scan": bundle.next_scan,
        "normalization": (meta.get("normalization") or {}).get("method") or "percentile",
        "temperature": float(meta["temperature"]),
        "epochs_trained": meta.get("epochs_trained"),
        "seeds": _seeds(meta),
        "training_data": _training_data(data),
        "validation": {**{k: val[k] for k in ("n", "accuracy", "macro_f1", "ece_uncalibrated", "ece_calibrated")
                          if k in val},
                       "f1": {str(c): m.get("f1") for c, m in per_class.items() if isinstance(m, dict)}} if val
        else {},
        "int8": {k: int8.get(k) for k in ("sha256", "argmax_agreement")} if bundle.int8_graph is not None else None,
        "ferroscreen_version": meta.get("ferroscreen_version"),
        "created": meta.get("created"),
        "git_commit": (meta.get("environment") or {}).get("git_commit") if isinstance(meta.get("environment"), dict)
        else None,
    }


def _nuclei_model_info(path: Path) -> dict | None:
    """A ``ferroscreen-nuclei-unet`` model file (its loader's reading), or None when it is none."""
    from ferroscreen.errors import ModelBundleError
    from ferroscreen.hashing import file_sha256
    from ferroscreen.segment.model_file import load_model_file

    try:
        _, info = load_model_file(path)
    except ModelBundleError:
        return None
    meta = info.get("meta") if isinstance(info.get("meta"), dict) else {}
    return {
        "kind": "nuclei_model",
        "path": str(path),
        "sha256": file_sha256(path),
        "format": info.get("format"),
        "arch": info.get("arch"),
        "nucleus_diameter_px": meta.get("nucleus_diameter_px"),
        "checkpoints": meta.get("averaged_checkpoints") or ([meta["checkpoint"]] if meta.get("checkpoint") else []),
        "ferroscreen_version": meta.get("ferroscreen_version"),
        "meta": {k: v for k, v in meta.items() if isinstance(v, (str, int, float, bool)) or v is None},
    }


#: What a bundle's ``training_data`` says that ``inspect`` shows (each acquisition's digests when several).
_TRAINING_KEYS = ("datamodule", "source", "layout", "format", "channel", "plates", "n_train", "n_val",
                  "train_per_class", "scan_interval_h", "image_files", "images_sha256", "layout_sha256")


def _training_data(data: dict) -> dict:
    """The training data summary of a bundle: sources, crops, and the sha256 of what it was trained on."""
    out = {k: data[k] for k in _TRAINING_KEYS if k in data}
    acquisitions = [a for a in data.get("acquisitions") or [] if isinstance(a, dict)]
    if acquisitions:  # several acquisitions: each its own digests
        out["acquisitions"] = [{k: a.get(k) for k in ("source", "layout", "image_files", "images_sha256",
                                                       "layout_sha256")} for a in acquisitions]
    return out


def _seeds(meta: dict) -> dict:
    """The seeds a bundle was trained with: Lightning's ``seed_everything``, the model's, the data split's, int8's."""
    import yaml

    seeds = {}
    try:
        config = yaml.safe_load(meta.get("config") or "") or {}
    except yaml.YAMLError:
        config = {}
    config = config.get("fit", config) if isinstance(config, dict) else {}
    if isinstance(config, dict):
        data = config.get("data") if isinstance(config.get("data"), dict) else {}
        args = data.get("init_args") if isinstance(data.get("init_args"), dict) else {}
        seeds.update({"seed_everything": config.get("seed_everything"), "data": args.get("seed")})
    seeds["model"] = (meta.get("hyperparameters") or {}).get("seed") if isinstance(meta.get("hyperparameters"),
                                                                                   dict) else None
    seeds["int8_calibration"] = (meta.get("int8") or {}).get("calibration_seed") if isinstance(meta.get("int8"),
                                                                                              dict) else None
    return {k: v for k, v in seeds.items() if v is not None}


def render_output(info: dict) -> str:
    """The text ``inspect`` prints for a :func:`describe_output` description."""
    render = {"score_store": _store_lines, "fit_results": _workbook_lines, "hits_results": _workbook_lines,
              "fit_output": _fit_folder_lines, "hits_output": _hits_folder_lines, "model_bundle": _bundle_lines,
              "nuclei_model": _nuclei_model_lines}
    return "\n".join(render[info["kind"]](info))


def _store_lines(info: dict) -> list[str]:
    times = info["timepoints_h"]
    span = f"{times[0]:g}-{times[-1]:g} h" if times else "none"
    layout = info["layout"] if isinstance(info["layout"], str) else "yes" if info["layout"] else "none"
    lines = [
        f"{info['path']}: {'segment' if info.get('task') == 'nuclei-segmentation' else 'score'} store of plate "
        f"{info['plate']}" + (f" ({info['acquisition']})" if info.get("acquisition") else ""),
        f"  model: {info['model'] or 'not recorded'} (sha256 {str(info['model_sha256'] or 'not recorded')[:12]}), "
        f"classes {', '.join(info['classes'])}"
        + (f"; precision {info['precision']}" if info.get("precision") else "") + (", --tta" if info["tta"] else ""),
        f"  channel {info['channel'] if info.get('channel') not in (None, '') else 'not recorded'}, z plane "
        f"{info['z_plane']}; ferroscreen {info['ferroscreen_version']}, "
        f"created {info['created']}, updated {info['updated']}",
        f"  frames: {info['n_frames']} ({info['n_wells']} wells, {info['n_timepoints']} timepoints, {span}): "
        f"{info['frames_done']} done, {info['frames_failed']} failed, {info['frames_pending']} pending; "
        f"{info['n_cells']} cells",
    ]
    reasons = list(info["failure_reasons"].items())
    lines += [f"    failed ({n}): {reason}" for reason, n in reasons[:5]]
    if len(reasons) > 5:
        lines.append(f"    ... and {sum(n for _, n in reasons[5:])} more failed frame(s) ({len(reasons) - 5} more "
                     f"reasons; --json lists them)")
    if info.get("writer_pid") is not None:
        pid = f" (pid {info['writer_pid']})" if info["writer_pid"] else ""
        lines.append(f"  a score run{pid} is writing it: frames it scored are merged into the store when it ends")
    elif info.get("journals"):
        lines.append(f"  a stopped run left frame results in {Path(info['journals'][0]).parent} that the store does "
                     f"not hold yet: `ferroscreen score ... --resume` merges them first")
    if info["frames_pending"] and info.get("writer_pid") is None:
        lines.append("  (`ferroscreen score ... --resume` scores the pending frames)")
    lines.append(f"  layout: {layout}" + (f" (sha256 {info['layout_sha256']})" if info.get("layout_sha256") else "")
                 + f"; per-well aggregates: {'yes' if info['wells_aggregated'] else 'not yet'}")
    if info.get("frames_sha256"):
        lines.append(f"  images scored: {info['frames_hashed']} frame file(s), digest sha256 {info['frames_sha256']}")
    if info.get("content_sha256"):
        lines.append(f"  content digest sha256 {info['content_sha256']} (the same for a store with the same data)")
    lines += _model_training_lines(info.get("model_training"))
    return lines


def _model_training_lines(record: dict | None) -> list[str]:
    """The lines of a scoring record's model training (:func:`ferroscreen.provenance.bundle_training_record`)."""
    if not record:
        return []
    commit = record.get("git_commit")
    made = (f"ferroscreen {record.get('ferroscreen') or '?'}" + (f", commit {str(commit)[:12]}" if commit else "")
            + (" (modified)" if record.get("git_dirty") else "") + f", created {record.get('created') or '?'}")
    lines = [f"  model trained with {made}; content sha256 {record.get('content_sha256') or 'not recorded'}"]
    data = record.get("training_data") or {}
    for acq in data.get("acquisitions") or [data]:
        lines.append(f"    trained on {acq.get('source') or '?'}: images sha256 {acq.get('images_sha256') or '?'}, "
                     f"layout sha256 {acq.get('layout_sha256') or '?'}")
    return lines


def _workbook_lines(info: dict) -> list[str]:
    if info["kind"] == "hits_results":
        lines = [f"{info['path']}: hits results workbook (ferroscreen {info['ferroscreen_version']}, "
                 f"{info['created']})", *_files_lines(info["files"])]
    else:
        lines = [f"{info['path']}: fit results workbook (ferroscreen {info['ferroscreen_version']}) of "
                 f"{info['input'] or 'an unnamed input'}"]
    return [*lines, *(f"  sheet {title}: {n} rows" for title, n in info["sheets"].items())]


#: Input files listed one a line before the rest are left to ``--json``.
_MAX_FILES = 6


def _files_lines(files: list[dict]) -> list[str]:
    """``  input a.csv (sha256 ...)``, one line per file, at most :data:`_MAX_FILES` of them."""
    lines = [f"  {f.get('role', 'input')} {f['path']} (sha256 {f['sha256'] or 'not recorded'})"
             for f in files[:_MAX_FILES]]
    if len(files) > _MAX_FILES:
        lines.append(f"  ... and {len(files) - _MAX_FILES} more file(s) (--json lists them)")
    return lines


def _hits_folder_lines(info: dict) -> list[str]:
    th = info["thresholds"]
    calls = ", ".join(f"{k} {v:g}" for k, v in th.items() if isinstance(v, (int, float)))
    lines = [f"{info['path']}: hits output (ferroscreen {info['ferroscreen_version']}, {info['created']})",
             f"  wells: {info['wells']}" + (f"; layout: {info['layout']}" if info["layout"] else ""),
             *_files_lines(info["inputs"]),
             f"  readouts: {', '.join(info['readouts'])}; score {info['score']}; {calls}",
             f"  {info['n_plates']} plates, {info['n_control_wells']} non-targeting wells; {info['n_genes']} genes, "
             f"{info['n_hits']} hits"]
    if info["top"]:
        shown = [f"{t.get('gene')} ({t.get('phenotype') or 'no call'})" for t in info["top"][:5]]
        lines.append(f"  top: {', '.join(shown)}")
    if info["warnings"]:
        lines.append(f"  warnings: {len(info['warnings'])} (--json lists them)")
    lines += [f"  {name}: {'unreadable' if n is None else f'{n} rows'}" for name, n in info["tables"].items()]
    if info["plots"]:
        lines.append(f"  plots: {', '.join(info['plots'])}")
    return lines


def _bundle_lines(info: dict) -> list[str]:
    data, val = info["training_data"], info["validation"]
    scan = f", next {info['next_scan']} scan(s)" if info["next_scan"] else ""
    source = f" (crop images of {info['source_crop_px']} px)" if info["source_crop_px"] else ""
    init = f" (init {info['init']})" if info["init"] else ""
    epochs = f"; {info['epochs_trained']} epoch(s)" if info["epochs_trained"] is not None else ""
    lines = [f"{info['path']}: model bundle ({info['task'] or 'death-mode'}; ferroscreen "
             f"{info['ferroscreen_version'] or '?'}, created {info['created'] or '?'})",
             f"  sha256 {info['sha256']}",
             *([f"  content sha256 {info['content_sha256']}"] if info["content_sha256"] else []),
             f"  classes: {', '.join(map(str, info['classes']))}",
             f"  backbone {info['backbone']}{init}, input {info['input_size']} px; crop {info['crop_size']} px"
             f"{source}{scan}; normalisation {info['normalization']}; temperature {info['temperature']:.4g}{epochs}",
             "  seeds: " + (", ".join(f"{k} {v}" for k, v in info["seeds"].items()) or "not recorded")]
    lines += _training_lines(data)
    if val:
        f1 = ", ".join(f"{c} {v:.2f}" for c, v in val["f1"].items() if isinstance(v, (int, float)))
        said = [f"{k.replace('_', ' ')} {val[k]:.3f}" for k in ("macro_f1", "accuracy", "ece_calibrated")
                if isinstance(val.get(k), (int, float))]
        lines.append(f"  validation ({val.get('n', '?')} crops): {', '.join(said)}" + (f"; F1 {f1}" if f1 else ""))
    if info["int8"]:
        agree = info["int8"].get("argmax_agreement")
        lines.append("  int8 graph: yes" + (f" (agrees with float on {agree:.1%} of the check crops)"
                                            if isinstance(agree, (int, float)) else ""))
    if info["git_commit"]:
        lines.append(f"  trained from git commit {info['git_commit']}")
    return lines


def _training_lines(data: dict) -> list[str]:
    """What a bundle was trained on: sources and crops, and the sha256 of the images and layout (each acquisition's)."""
    if not data:
        return ["  training data: not recorded"]
    sources = data.get("source")
    sources = ", ".join(map(str, sources)) if isinstance(sources, list) else sources
    per_class = data.get("train_per_class") or {}
    counts = f" ({', '.join(f'{c} {n}' for c, n in per_class.items())})" if per_class else ""
    lines = [f"  training data: {data.get('datamodule', '?')} of {sources or '?'}; {data.get('n_train', '?')} "
             f"training crops{counts}, {data.get('n_val', '?')} validation"]
    acquisitions = data.get("acquisitions") or [data]
    for acq in acquisitions[:_MAX_FILES]:
        where = f" of {acq.get('source')}" if data.get("acquisitions") else ""
        if acq.get("images_sha256"):
            lines.append(f"    images{where}: {acq.get('image_files')} files, sha256 {acq['images_sha256']}")
        if acq.get("layout_sha256"):
            lines.append(f"    layout {acq.get('layout')}: sha256 {acq['layout_sha256']}")
    if len(acquisitions) > _MAX_FILES:
        lines.append(f"    ... and {len(acquisitions) - _MAX_FILES} more acquisition(s) (--json lists them)")
    return lines


def _nuclei_model_lines(info: dict) -> list[str]:
    arch = info["arch"] or {}
    lines = [f"{info['path']}: nuclei model ({info['format']}; ferroscreen {info['ferroscreen_version']})",
             f"  sha256 {info['sha256']}",
             f"  U-Net widths {arch.get('widths')}, {arch.get('in_channels')} channel(s) in, "
             f"{arch.get('out_channels')} out; nucleus diameter {info['nucleus_diameter_px']} px"]
    if info["checkpoints"]:
        lines.append(f"  from checkpoint(s): {', '.join(map(str, info['checkpoints']))}")
    return lines


def _fit_folder_lines(info: dict) -> list[str]:
    lines = [f"{info['path']}: fit output (ferroscreen {info['ferroscreen_version']}, {info['created']})",
             f"  input: {info['input']}" + (f" (sha256 {info['input_sha256']})" if info.get("input_sha256") else "")
             if len(info.get("inputs") or []) < 2
             else f"  inputs ({len(info['inputs'])}): {', '.join(map(str, info['inputs']))}"]
    if info["layout"]:
        lines.append(f"  layout: {', '.join(map(str, info['layout']))}")
    if info.get("store"):
        lines.append(f"  score store {info['store']}: sha256 {info['store_sha256'] or 'not recorded'}"
                     + (f", content digest {info['store_content_sha256']}" if info.get("store_content_sha256") else ""))
    if info.get("model"):
        lines.append(f"  model {info['model']}: sha256 {info['model_sha256'] or 'not recorded'}")
    lines += _model_training_lines(info.get("model_training"))
    opts = info["options"]
    shown = {k: opts[k] for k in ("model", "readouts", "endpoint_h", "rank_on", "input_kind", "exclude")
             if k in opts and opts[k] not in (None, [], "")}
    if shown:
        lines.append("  options: " + ", ".join(f"{k} {v}" for k, v in shown.items()))
    lines += [f"  {name}: {'unreadable' if n is None else f'{n} rows'}" for name, n in info["tables"].items()]
    if info.get("calls"):
        lines.append("  curve calls: " + ", ".join(f"{n} {call}" for call, n in info["calls"].items()))
    return lines
