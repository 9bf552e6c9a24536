"""The knockdown report as a reviewer read it: volcano names apart, no empty replicate plot, long gene names."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text

from ferroscreen.analysis import knockdown_plots as kp
from ferroscreen.report.knockdown import build_hits_report


def _genes(n_top: int = 8) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    n = 80
    top = pd.DataFrame({"gene": [f"TOPGENE{i}" for i in range(n_top)], "fc_viability": 0.05 + 0.001 * np.arange(n_top),
                        "q_viability": 1e-12 * (1 + 0.01 * np.arange(n_top)), "hit": True})
    rest = pd.DataFrame({"gene": [f"G{i:03d}" for i in range(n)], "fc_viability": rng.normal(1, 0.05, n),
                         "q_viability": 0.5, "hit": False})
    genes = pd.concat([top, rest], ignore_index=True)
    return genes.assign(rank=np.arange(1, len(genes) + 1))


def test_volcano_names_of_top_genes_do_not_overprint():
    fig = kp.volcano(_genes(), "viability")
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    names = [t for t in fig.axes[0].texts if t.get_text().startswith("TOPGENE")]
    assert len(names) >= 3  # named, not all dropped
    boxes = [Text.get_window_extent(t, renderer) for t in names]  # the name, without its leader
    for a, b in itertools.combinations(boxes, 2):
        overlap_x = min(a.x1, b.x1) - max(a.x0, b.x0)
        overlap_y = min(a.y1, b.y1) - max(a.y0, b.y0)
        assert overlap_x <= 0.5 or overlap_y <= 0.5  # was: eight names printed over one another


def _hits_folder(root, genes: pd.DataFrame, replicates_of_samples=(1,)):
    root.mkdir()
    genes.to_csv(root / "genes.csv", index=False)
    rows = []
    for k, gene in enumerate(genes["gene"]):
        for rep in replicates_of_samples:
            rows.append({"plate": "P384", "well": f"A{k + 1:02d}", "gene": gene, "role": "sample", "replicate": rep,
                         "is_control": False, "row": 0, "col": k % 24, "fc_viability": 1.0 + 0.01 * k,
                         "log2fc_viability": 0.01 * k * rep})
    for rep in (1, 2, 3):  # non-targeting wells numbered as replicates: the samples still have one
        rows.append({"plate": "P384", "well": f"P{rep:02d}", "gene": "NT", "role": "neg_ctrl", "replicate": rep,
                     "is_control": True, "row": 15, "col": rep, "fc_viability": 1.0, "log2fc_viability": 0.0})
    pd.DataFrame(rows).to_csv(root / "wells_normalized.csv", index=False)
    return root


def test_single_replicate_screen_draws_no_empty_replicate_plot_and_says_so(tmp_path):
    html = build_hits_report(_hits_folder(tmp_path / "hits", _genes()), tmp_path / "r.html").read_text("utf-8")
    assert "Replicate agreement" not in html  # was an empty 0-1 "one replicate only" plot
    assert "One replicate of the library" in html


def test_two_replicates_still_draw_the_replicate_plot(tmp_path):
    html = build_hits_report(_hits_folder(tmp_path / "hits", _genes(), (1, 2)), tmp_path / "r.html").read_text("utf-8")
    assert "Replicate agreement" in html and "One replicate of the library" not in html


def test_long_gene_name_is_clipped_with_its_whole_name_in_the_title(tmp_path):
    long = "<GENE>&" + "Y" * 293  # 300 characters
    genes = _genes().assign(gene=lambda g: g["gene"].where(g.index != 0, long))
    html = build_hits_report(_hits_folder(tmp_path / "hits", genes), tmp_path / "r.html").read_text("utf-8")
    escaped = "&lt;GENE&gt;&amp;" + "Y" * 293
    assert f'<span class="clip" title="{escaped}">{escaped}</span>' in html  # was: every column after it off-screen
    assert "<GENE>" not in html
