"""What ``ferroscreen hits`` does: read the input, call hits, write the outputs as one set.

:func:`run_hits` reads the WELLS files (:mod:`ferroscreen.analysis.hits_inputs`), calls genes
(:func:`~ferroscreen.analysis.knockdown.call_hits`) and writes the folder the knockdown report
reads (:mod:`ferroscreen.report.knockdown`).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

from ferroscreen import __version__
from ferroscreen.analysis.knockdown import READOUT_EFFECTS, HitResult, ThresholdError, call_hits
from ferroscreen.analysis.results_workbook import software_rows
from ferroscreen.errors import FerroscreenError
from ferroscreen.hashing import file_sha256
from ferroscreen.json_output import write_json
from ferroscreen.output_set import OutputSet
from ferroscreen.provenance import command_line, created_now, environment
from ferroscreen.workbooks import write_workbook

__all__ = ["run_hits"]


def _earlier_plots(out) -> list[str]:
    """Names of the PNGs an earlier ``hits`` run wrote into ``out`` (only names this command gives its plots)."""
    if not out.is_dir():
        return []
    fixed = {"quadrant.png", "replicates.png", *(f"volcano_{k}.png" for k in READOUT_EFFECTS)}
    maps = tuple(f"_fc_{k}.png" for k in READOUT_EFFECTS)
    return sorted(p.name for p in out.glob("*.png")
                  if p.name in fixed or (p.name.startswith("plate_") and p.name.endswith(maps)))


#: Wells tables longer than this stay out of ``hits.xlsx`` (a genome-wide screen's 82,000 wells take
#: ~15 s to write there); ``wells_normalized.csv`` holds them all.
MAX_WORKBOOK_WELLS = 20_000


def _workbook_sheets(result: HitResult, sources: list[Path], layouts: list[Path], hashes: dict[Path, str | None],
                     created: str, env: dict) -> list[tuple[str, object]]:
    """``hits.xlsx``'s sheets: about, genes, plate QC, concordance, wells.

    The about sheet gives the ferroscreen version, the software the run used (``env``, as a fit's
    ``results.xlsx`` gives it: git commit, libraries, platform), when the run was made (UTC), each
    input and layout file with its sha256, the settings of the calls (thresholds, score, readout
    columns) and what each sheet holds.
    """
    about: list[list] = [["ferroscreen hits results", ""], ["ferroscreen version", __version__],
                         *software_rows(env), ["created (UTC)", created]]
    about += [["input", str(p), hashes.get(p) or ""] for p in sources]
    about += [["layout", str(p), hashes.get(p) or ""] for p in layouts]
    about += [[], ["setting", "value"]]
    about += [[k, ", ".join(map(str, v)) if isinstance(v, list) else v] for k, v in result.params.items()]
    about += [[], ["sheet", "holds"], ["genes", "genes ranked, with fold changes, z, q and calls (genes.csv)"],
              ["plate_qc", "per plate: Z', robust Z', SSMD, CV of the non-targeting wells (plate_qc.csv)"],
              ["concordance", "replicate agreement per readout and pair of replicates: spearman (rank correlation), "
                              "pearson_without_lethal, pearson over all genes (concordance.csv)"]]
    sheets: list[tuple[str, object]] = [("about", about), ("genes", result.genes), ("plate_qc", result.qc),
                                        ("concordance", result.concordance)]
    if len(result.wells) <= MAX_WORKBOOK_WELLS:
        about.append(["wells_normalized", "every well normalised per plate (wells_normalized.csv)"])
        sheets.append(("wells_normalized", result.wells))
    else:
        about.append(["", f"the {len(result.wells)} wells are in wells_normalized.csv only (more than "
                          f"{MAX_WORKBOOK_WELLS} are left out of the workbook)"])
    return sheets


def n_replicates(wells) -> int:
    """How many replicates a normalised wells table holds (its ``replicate`` column; 0 without one)."""
    if wells is None or "replicate" not in wells.columns:
        return 0
    return int(wells["replicate"].dropna().nunique())


def replicate_figure(wells, concordance, key: str):
    """Each gene's log2 fold change in replicate 1 against replicate 2, titled with the rank correlation.

    The scatter is :func:`~ferroscreen.analysis.knockdown_plots.replicate_scatter`; its title (Pearson's r over
    every gene, which a few lethal genes pull towards 1) is replaced by Spearman's rank correlation and Pearson's
    r without the lethal genes from ``concordance`` (``concordance.csv``) when it has them.
    """
    from ferroscreen.analysis import knockdown_plots as kp

    fig = kp.replicate_scatter(wells, f"log2fc_{key}")
    if concordance is None or not {"readout", "replicate_a", "replicate_b", "spearman"} <= set(concordance.columns):
        return fig
    reps = sorted(wells["replicate"].dropna().unique())[:2] if "replicate" in wells.columns else []
    if len(reps) < 2:  # replicates by plate (the scatter's own fallback): concordance.csv numbers none
        return fig
    rows = concordance[(concordance["readout"] == key) & (concordance["replicate_a"] == reps[0])
                       & (concordance["replicate_b"] == reps[1])]
    if len(rows):
        row = rows.iloc[0]
        title = f"replicates {reps[0]:g} vs {reps[1]:g} ({int(row['n_genes'])} genes)\nSpearman {row['spearman']:.2f}"
        if "pearson_without_lethal" in row.index and int(row.get("n_lethal", 0) or 0) > 0:
            title += f", Pearson without the {int(row['n_lethal'])} lethal {row['pearson_without_lethal']:.2f}"
        fig.axes[0].set_title(title, fontsize=8)
    return fig


def run_hits(
    wells_csv,
    out,
    layout_path=None,
    plots: bool = True,
    read: str | None = None,
    signal_col: str | None = None,
    objects: str | None = None,
    **kwargs,
) -> HitResult:
    """``ferroscreen hits``: read the input (and layout), call hits, write the outputs.

    ``wells_csv`` is one path or several: per-well tables (one ``wells.csv`` per plate from
    ``segment``; ``signal_col`` names a viability column instead of nuclei count and area), CellProfiler
    exports of a nuclei pipeline (``objects`` names the nuclei), or
    plate-reader / IncuCyte exports of a viability assay with a layout (``read`` picks the read);
    see :mod:`ferroscreen.analysis.hits_inputs`.

    Writes ``genes.csv`` (ranked), ``wells_normalized.csv``, ``concordance.csv``,
    ``plate_qc.csv``, the four in one workbook ``hits.xlsx`` (its ``about`` sheet: version, time, the
    input and layout files with their sha256, the settings, the software), ``hits.json``
    (``ferroscreen_version``, the software it ran on (``environment``:
    :func:`ferroscreen.provenance.environment`, with the git commit when run from a checkout), how it
    was started (``command``: ``argv`` and ``cwd``, :func:`ferroscreen.provenance.command_line`),
    ``created`` in UTC ISO 8601, the files read with their sha256 (``inputs``: a ``segment`` folder given is its
    ``wells.csv``), ``settings`` as given, ``params`` as used,
    notes, warnings, hit counts) and, with ``plots``, PNGs of the plate heat maps, replicate scatter (with two
    replicates or more), quadrant (count and area) and volcano plots, all put in place together. ``kwargs`` go
    to :func:`call_hits`.

    Raises:
        FerroscreenError: Unreadable CSV or layout, or a failed check in :func:`call_hits`.
    """
    from ferroscreen.analysis.hits_inputs import read_hits_input

    sources = [Path(p) for p in ([wells_csv] if isinstance(wells_csv, (str, Path)) else wells_csv)]
    layout = None
    layout_paths = [] if layout_path is None else [Path(p) for p in (
        [layout_path] if isinstance(layout_path, (str, Path)) else layout_path)]
    if layout_paths:
        from ferroscreen.plate import read_layouts

        layout = read_layouts(layout_paths)
    loaded = read_hits_input(sources, layout, read=read, signal_col=signal_col, objects=objects)
    sources = loaded.files or sources  # a segment folder given: the wells.csv read in it, which a digest can be of
    settings = {"read": read, "signal_col": signal_col, "objects": objects, "plots": plots,
                **{k: v for k, v in kwargs.items() if k != "signal_col"}}  # as given; params has what they became
    hashes = {p: file_sha256(p) if p.is_file() else None for p in [*sources, *layout_paths]}
    created, env = created_now(), environment()
    digests = [hashes[p] for p in layout_paths]
    wells, where = loaded.wells, loaded.where
    kwargs["signal_col"] = loaded.signal_col
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            result = call_hits(wells, layout, source=where, **kwargs)
    except ThresholdError:
        raise  # about an argument: it names no file
    except FerroscreenError as exc:
        if any(str(p) in str(exc) for p in [*sources, *layout_paths]):  # the message names its file already
            raise
        raise FerroscreenError(f"{where}: {exc}") from exc
    result.notes = [*(layout.notes if layout is not None else []), *loaded.notes, *result.notes]
    keys = result.params["readouts"]
    with OutputSet(out) as outputs:  # all of this run's outputs, or (on failure) the folder as it was
        result.genes.to_csv(outputs.path("genes.csv"), index=False)
        result.wells.to_csv(outputs.path("wells_normalized.csv"), index=False)
        result.concordance.to_csv(outputs.path("concordance.csv"), index=False)
        result.qc.to_csv(outputs.path("plate_qc.csv"), index=False)
        write_workbook(outputs.path("hits.xlsx"), _workbook_sheets(result, sources, layout_paths, hashes, created,
                                                                     env))
        genes = result.genes
        summary = {
            "ferroscreen_version": __version__,
            "environment": env,
            "command": command_line(),
            "created": created,
            "wells": where,
            "layout": (str(layout_paths[0]) if len(layout_paths) == 1 else [str(p) for p in layout_paths])
            if layout_paths else None,
            "layout_sha256": (digests[0] if len(digests) == 1 else digests) if layout_paths else None,
            **loaded.options,  # its "inputs" lack the layouts: the full list comes after
            "inputs": [{"path": str(p.resolve()), "sha256": sha} for p, sha in hashes.items()],
            "input_notes": result.notes,
            "settings": settings,
            "params": result.params,
            "warnings": result.warnings,
            "n_genes": int(len(genes)),
            "n_hits": int(genes["hit"].sum()) if len(genes) else 0,
            "top": genes.head(20)[["rank", "gene", *(f"fc_{k}" for k in keys), "phenotype"]].to_dict("records")
            if len(genes)
            else [],
        }
        for name in _earlier_plots(Path(out)):  # an earlier run's plots (other plates) must not pass for this run's
            outputs.drop(name)
        if plots and len(genes):
            from ferroscreen.analysis import knockdown_plots as kp

            figs = {}
            if {"count", "area"} <= set(keys):
                figs["quadrant.png"] = kp.count_area_quadrant(
                    genes, result.params["count_threshold"], result.params["area_threshold"])
            for key in keys:
                figs[f"volcano_{key}.png"] = kp.volcano(genes, key)
            if n_replicates(result.wells) > 1:  # one replicate: nothing to compare, no plot
                figs["replicates.png"] = replicate_figure(result.wells, result.concordance, keys[0])
            for name, fig in figs.items():
                fig.savefig(outputs.path(name), dpi=110, format="png")
            plots = list(figs)
            for plate in sorted(result.wells["plate"].unique()):  # every plate, each saved as drawn (213 plates)
                name = re.sub(r"[^A-Za-z0-9._-]+", "_", str(plate)).strip("._") or "plate"  # safe as a file name
                name, n = f"plate_{name}_fc_{keys[0]}.png", 1
                while name in plots:  # two plate names alike once made safe ("LIB 1", "LIB_1")
                    n += 1
                    name = re.sub(r"(~\d+)?_fc_", f"~{n}_fc_", name, count=1)
                kp.plate_heatmap(result.wells, f"fc_{keys[0]}", plate).savefig(outputs.path(name), dpi=110,
                                                                              format="png")
                plots.append(name)
            summary["plots"] = sorted(plots)
        write_json(outputs.path("hits.json"), summary)  # strict JSON: a missing value is null, never NaN
    return result
