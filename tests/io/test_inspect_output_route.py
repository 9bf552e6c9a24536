"""``ferroscreen inspect`` prints each kind of ferroscreen's own outputs with ``render_output`` by itself.

Was: the command sent only score stores and fit results there; model bundles and hits outputs were printed
because importing :mod:`ferroscreen.report.output_info` filled a table of renderers in the io layer
(``ferroscreen.io.inspection.OUTPUT_RENDERERS``) that ``render_inspection`` consulted.
"""

from __future__ import annotations

import pytest

from ferroscreen.report import output_info


@pytest.mark.parametrize("kind", output_info.OUTPUT_KINDS)
def test_every_output_kind_is_printed_by_render_output(kind, tmp_path, monkeypatch, run_main):
    from ferroscreen.io import inspection

    path = tmp_path / "output"
    path.write_text("x")
    monkeypatch.setattr(inspection, "OUTPUT_RENDERERS", {}, raising=False)  # no registry to lean on
    monkeypatch.setattr(output_info, "describe_output", lambda p: {"kind": kind, "path": str(p)})
    monkeypatch.setattr(output_info, "render_output", lambda info: f"{info['path']}: rendered {info['kind']}")
    code, out, err = run_main("inspect", path)
    assert code == 0, err
    assert out == f"{path}: rendered {kind}\n"
