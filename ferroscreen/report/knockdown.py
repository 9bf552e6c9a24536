"""The knockdown-screen report: a ``ferroscreen hits`` folder in, one self-contained HTML file out.

A hits folder holds ``genes.csv`` (required: ``rank, gene, fc_count, fc_area,
hit`` at least), and optionally ``wells_normalized.csv`` (plate maps, replicate
scatter), ``concordance.csv`` and ``hits.json`` (thresholds, warnings). The
page shows the summary and calls, the count-vs-area quadrant, the volcano
plots, the replicate scatter (two or more replicates of the library; one is
said in the notes), a sortable table of every hit followed by the best-ranked
other genes, replicate concordance, one plate map per plate (the first
:data:`MAX_PLATES`) and provenance. Figures are redrawn from the tables
(:mod:`ferroscreen.analysis.knockdown_plots`) and inlined; every gene name and
other user string is escaped by the template.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
from markupsafe import Markup, escape

from ferroscreen import __version__
from ferroscreen.analysis import knockdown_plots as kp
from ferroscreen.analysis.hits_run import n_replicates, replicate_figure
from ferroscreen.hashing import file_sha256
from ferroscreen.json_output import dumps_strict
from ferroscreen.report.figures import encode_png
from ferroscreen.report.html import check_page_path, environment, write_page
from ferroscreen.report.results import ReportInputError, read_result_csv
from ferroscreen.report.tables import frame_table

HITS_FILES = {"genes": "genes.csv", "wells": "wells_normalized.csv", "concordance": "concordance.csv",
              "qc": "plate_qc.csv", "summary": "hits.json"}
#: Plates drawn as plate maps.
MAX_PLATES = 12
_TABLE_COLUMNS = ["rank", "gene", "phenotype", "hit", "fc_count", "fc_area", "fc_viability", "z_count", "z_area",
                  "z_viability", "q_count", "q_area", "q_viability", "n_wells", "plates", "qc_flags"]
#: Readout -> how the report names it.
READOUT_WORDS = {"count": "nuclei count", "area": "nuclear area", "viability": "viability signal"}


def _readouts(genes: pd.DataFrame) -> list[str]:
    """The readouts of a genes table (``count`` and ``area`` of nuclei, or a ``viability`` signal)."""
    return [k for k in READOUT_WORDS if f"fc_{k}" in genes.columns]


def is_hits_folder(root: str | Path) -> bool:
    """Whether ``root`` is a ``ferroscreen hits`` output (``genes.csv``, and no ``wells.csv``/``fits.csv``)."""
    root = Path(root)
    return (root / "genes.csv").is_file() and not (root / "wells.csv").is_file() and not (
        root / "fits.csv").is_file()


def _plots(genes: pd.DataFrame, wells: pd.DataFrame | None, params: dict,
           concordance: pd.DataFrame | None = None) -> list[dict]:
    keys = _readouts(genes)
    plots = []
    if {"count", "area"} <= set(keys):
        plots.append({"uri": encode_png(kp.count_area_quadrant(genes, float(params.get("count_threshold", 0.5)),
                                                               float(params.get("area_threshold", 1.7)))),
                      "caption": "Nuclei count against nuclear area, each relative to the plate's non-targeting "
                                 "wells (median over a gene's wells); hits as larger vermillion dots with a black "
                                 "edge, thresholds dashed."})
    for readout in keys:
        if f"q_{readout}" in genes.columns:
            plots.append({"uri": encode_png(kp.volcano(genes, readout)),
                          "caption": f"Volcano, {READOUT_WORDS[readout]}: log2 fold change against -log10 BH q; the "
                                     f"hits among the ten best-ranked genes named, moved apart (a name with no room "
                                     f"left out)."})
    first = keys[0] if keys else "count"
    if wells is not None and {"is_control", "gene", "plate", f"log2fc_{first}"} <= set(wells.columns) and (
            sample_replicates(wells) > 1):  # one replicate: nothing to compare
        plots.append({"uri": encode_png(replicate_figure(wells, concordance, first)),
                      "caption": f"Replicate agreement: each gene's log2 {READOUT_WORDS[first]} fold change (median "
                                 f"over its wells) in replicate 1 against replicate 2, on every library plate. The "
                                 f"title gives Spearman's rank correlation and Pearson's r without the lethal genes: "
                                 f"the few lethal genes far below the rest alone pull Pearson's r over all genes "
                                 f"towards 1."})
    return plots


def sample_replicates(wells: pd.DataFrame) -> int:
    """How many replicates of the library the replicate scatter compares.

    As :func:`~ferroscreen.analysis.knockdown_plots.replicate_scatter` takes them: the ``replicate``
    numbers of the sample wells (not the non-targeting controls, which a layout may number too),
    else, with fewer than two, the most plates any one gene was screened on (library plates of
    different genes are no replicates of each other).
    """
    samples = wells[~wells["is_control"].astype(str).str.lower().isin(["true", "1", "yes"])]
    if "role" in samples.columns:
        samples = samples[samples["role"].astype(str) == "sample"]
    numbered = n_replicates(samples)
    if numbered >= 2 or "gene" not in samples.columns:
        return max(numbered, int(samples["plate"].nunique()))
    plates_per_gene = samples.groupby("gene")["plate"].nunique()
    return max(numbered, int(plates_per_gene.max()) if len(plates_per_gene) else 0)


def _has_pairs(concordance: pd.DataFrame | None) -> bool:
    """Whether ``concordance.csv`` compares replicates (a run of one replicate writes rows without a pair)."""
    if concordance is None or not len(concordance):
        return False
    if "replicate_b" not in concordance.columns:
        return True
    return bool(concordance["replicate_b"].notna().any())


def _plate_maps(wells: pd.DataFrame | None, key: str) -> tuple[list[dict], int]:
    if wells is None or not {"plate", "row", "col", f"fc_{key}", "is_control"} <= set(wells.columns):
        return [], 0
    plates = sorted(wells["plate"].astype(str).unique())
    w = wells.assign(plate=wells["plate"].astype(str))
    maps = [{"plate": p, "uri": encode_png(kp.plate_heatmap(w, f"fc_{key}", p))} for p in plates[:MAX_PLATES]]
    return maps, max(len(plates) - MAX_PLATES, 0)


def _calls_line(keys: list[str], params: dict, score: str) -> Markup:
    """The sentence saying how genes were called; every value from ``hits.json`` is escaped."""
    def value(name: str, default) -> str:
        return escape(str(params.get(name, default)))

    parts = []
    for key in keys:
        word = READOUT_WORDS[key]
        if key == "area":
            parts.append(f"{word} above {value('area_threshold', 1.7)}")
        else:
            parts.append(f"{word} below {value('count_threshold', 0.5)}")
    lethal = next((READOUT_WORDS[k] for k in keys if k != "area"), "nuclei count")
    cols = ", ".join(f"{READOUT_WORDS[k]} <code>{escape(str(params[f'{k}_col']))}</code>" for k in keys
                     if params.get(f"{k}_col"))
    return Markup(f"Calls: {' or '.join(parts)} of the plate's non-targeting controls (median fold change over "
                  f"replicates), or |median {escape(score)}| at least {value('z_threshold', 3.0)} with BH q below "
                  f"{value('fdr', 0.05)}; a gene whose {lethal} falls below {value('lethal_threshold', 0.1)} "
                  f"is labelled lethal." + (f" Columns: {cols}." if cols else ""))


def _gene_table(genes: pd.DataFrame, max_rows: int) -> dict:
    hit = genes["hit"].astype(str).str.lower().isin(["true", "1", "yes"])
    shown = pd.concat([genes[hit], genes[~hit].head(max(max_rows - int(hit.sum()), 0))]).sort_values("rank")
    columns = [c for c in _TABLE_COLUMNS if c in shown.columns]
    table = frame_table(shown.assign(hit=hit[shown.index].map({True: "hit", False: ""})), columns)
    at = columns.index("hit")
    for row in table["rows"]:
        row[at]["cls"] = "bad" if row[at]["text"] == "hit" else ""
    return table


def _provenance(root: Path, summary: dict, created: str) -> list[dict]:
    rows = [{"key": "report created", "text": created, "block": False},
            {"key": "ferroscreen (report)", "text": __version__, "block": False},
            {"key": "results folder", "text": str(root.resolve()), "block": False}]
    for key in ("wells", "layout"):
        if summary.get(key):
            rows.append({"key": f"hits input: {key}", "text": str(summary[key]), "block": False})
    if summary.get("params"):
        rows.append({"key": "hit calling", "text": dumps_strict(summary["params"]), "block": True,
                     "summary": f"{len(summary['params'])} settings"})
    inputs = [f"{i.get('sha256') or '(not a file)'}  {i.get('path')}" for i in summary.get("inputs", [])
              if isinstance(i, dict)]
    if inputs:
        rows.append({"key": "input files (sha256)", "text": "\n".join(inputs), "block": True,
                     "summary": f"{len(inputs)} files"})
    sums = [f"{file_sha256(root / n)}  {n}" for n in HITS_FILES.values() if (root / n).is_file()]
    rows.append({"key": "result files (sha256)", "text": "\n".join(sums), "block": True,
                 "summary": f"{len(sums)} files"})
    return rows



def _score_said(params: dict) -> str:
    """The score the calls rest on, with the plates scored otherwise (controls' t, B-score fallen back to z)."""
    asked = "B-score" if params.get("score") == "bscore" else "robust z"
    used = params.get("plate_scores") or {}
    on_controls = sorted(p for p, by in used.items() if "controls" in by.values())
    fell_back = sorted(p for p, by in used.items() if asked == "B-score" and "z" in by.values())
    parts = []
    if on_controls:
        parts.append(f"{len(on_controls)} plate(s) with too few sample wells scored against their non-targeting "
                     f"wells (Student's t as z)")
    if fell_back:
        parts.append(f"{len(fell_back)} plate(s) by robust z (no B-score)")
    return asked + (f" ({'; '.join(parts)})" if parts else "")

def build_hits_report(root: str | Path, out: str | Path, title: str | None = None, max_rows: int = 100) -> Path:
    """Write the HTML report of a ``ferroscreen hits`` folder (see the module doc).

    Args:
        root: The hits folder.
        out: The HTML file to write.
        title: Page title (default from the folder name).
        max_rows: Rows of the gene table (every hit, then the best-ranked others).

    Raises:
        ReportInputError: ``genes.csv`` missing, unreadable or lacking columns (``rank, gene, hit`` and a
            readout's ``fc_``); ``hits.json`` not JSON.
    """
    root, out = Path(root), Path(out)
    check_page_path(out)  # before reading and drawing
    if not (root / "genes.csv").is_file():
        raise ReportInputError(f"{root}: no genes.csv (is this a `ferroscreen hits` folder?)")
    genes = read_result_csv(root / "genes.csv", "genes")
    if not _readouts(genes):
        raise ReportInputError(f"{root / 'genes.csv'}: no readout columns (fc_count and fc_area of nuclei, or "
                               f"fc_viability)")
    extra = {k: read_result_csv(root / HITS_FILES[k], f"hits_{k}") if (root / HITS_FILES[k]).is_file() else None
             for k in ("wells", "concordance")}  # no required columns: their figures need what they need
    wells, concordance = extra["wells"], extra["concordance"]
    summary: dict = {}
    notes = []
    if (root / HITS_FILES["summary"]).is_file():
        try:
            summary = json.loads((root / HITS_FILES["summary"]).read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ReportInputError(f"{root / HITS_FILES['summary']}: not valid JSON ({exc})") from None
    else:
        notes.append("No hits.json: thresholds shown are the defaults.")
    if wells is None:
        notes.append("No wells_normalized.csv: plate maps and the replicate scatter are not shown.")
    elif {"is_control", "plate"} <= set(wells.columns) and sample_replicates(wells) < 2:
        notes.append("One replicate of the library (one replicate number and one plate over the sample wells): "
                     "no replicate agreement to plot.")
    params = summary.get("params") or {}
    if not isinstance(params, dict):
        raise ReportInputError(f"{root / HITS_FILES['summary']}: 'params' is not a table of settings")
    for name in ("count_threshold", "area_threshold", "lethal_threshold", "z_threshold", "fdr"):
        if name in params:
            try:
                params[name] = float(params[name])
            except (TypeError, ValueError):
                raise ReportInputError(f"{root / HITS_FILES['summary']}: {name} is {params[name]!r}, not a "
                                       f"number") from None
    hit = genes["hit"].astype(str).str.lower().isin(["true", "1", "yes"])
    phenotypes = genes.loc[hit, "phenotype"].value_counts() if "phenotype" in genes.columns else pd.Series()
    keys = _readouts(genes) or ["count"]
    maps, n_left = _plate_maps(wells, keys[0])
    qc = read_result_csv(root / HITS_FILES["qc"], "hits_qc") if (root / HITS_FILES["qc"]).is_file() else None
    created = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    context = {
        "title": title or f"Knockdown screen: {root.resolve().name}",
        "created": created,
        "version": __version__,
        "results_dir": str(root),
        "summary": {
            "n_plates": int(params.get("n_plates") or (wells["plate"].nunique() if wells is not None else 0)),
            "n_genes": len(genes), "n_hits": int(hit.sum()),
            "n_controls": int(params.get("n_control_wells") or 0),
            "phenotypes": [{"name": str(k), "n": int(v)} for k, v in phenotypes.items()],
            "count_threshold": params.get("count_threshold", 0.5), "area_threshold": params.get("area_threshold", 1.7),
            "lethal_threshold": params.get("lethal_threshold", 0.1), "z_threshold": params.get("z_threshold", 3.0),
            "fdr": params.get("fdr", 0.05), "score": _score_said(params),
            "count_col": params.get("count_col", "n_nuclei"),
            "calls": _calls_line(keys, params, _score_said(params)),
        },
        "map_readout": READOUT_WORDS[keys[0]],
        "input_notes": [str(n) for n in summary.get("input_notes", [])],
        "plate_qc": frame_table(qc) if qc is not None and len(qc) else None,
        "warnings": [str(w) for w in summary.get("warnings", [])],
        "notes": notes,
        "plots": _plots(genes, wells, params, concordance),
        "genes": _gene_table(genes, max_rows),
        "concordance": frame_table(concordance) if _has_pairs(concordance) else None,
        "plates": maps,
        "n_plates_left": n_left,
        "provenance": _provenance(root, summary, created),
    }
    return write_page(out, environment().get_template("knockdown.html.j2").render(**context))


__all__ = ["build_hits_report", "is_hits_folder"]
