import json

import cv2
import numpy as np
import pandas as pd
import pytest
import tifffile
from typer.testing import CliRunner

from ferroscreen.cli import app, main

from .conftest import make_nuclei

runner = CliRunner()


@pytest.fixture
def image_folder(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    img, _ = make_nuclei(seed=1)
    cv2.imwrite(str(folder / "a_field.png"), img)  # 16-bit PNG
    tifffile.imwrite(folder / "b_field.tif", make_nuclei(seed=2)[0])
    (folder / "notes.txt").write_text("not an image")
    (folder / "._a_field.png").write_bytes(b"\0\5\26\7 macOS resource fork")  # not an image: never listed
    return folder


def test_segment_image_folder(image_folder, tiny_model_file, tmp_path):
    out = tmp_path / "out"
    res = runner.invoke(
        app, ["segment", str(image_folder), "--model", str(tiny_model_file), "--out", str(out), "--objects"]
    )
    assert res.exit_code == 0, res.output
    for stem in ("a_field", "b_field"):
        lab = tifffile.imread(out / "labels" / f"{stem}.tif")
        assert lab.dtype == np.uint16 and lab.shape == (96, 96)
    fields = pd.read_csv(out / "fields.csv")
    assert list(fields["image"]) == ["a_field", "b_field"]
    for col in (
        "n_nuclei",
        "area_mean",
        "area_median",
        "eccentricity_mean",
        "solidity_mean",
        "intensity_mean",
        "focus",
        "qc_flags",
        "qc_empty",
    ):
        assert col in fields.columns
    assert (out / "objects.csv").is_file()
    meta = json.loads((out / "segment.json").read_text())
    assert meta["kind"] == "images" and meta["n_images"] == 2 and len(meta["model_sha256"]) == 64
    assert not (out / "wells.csv").exists()


def test_segment_acquisition_writes_wells(tmp_path, tiny_model_file):
    from ferroscreen.io.incucyte import incucyte_export_name

    acq = tmp_path / "acq"
    acq.mkdir()
    for i, well in enumerate(["A1", "A1", "B2"]):
        field = 1 + (i if well == "A1" else 0)
        name = incucyte_export_name(7, well, field, 0.0, channel="nuc")
        tifffile.imwrite(acq / name, make_nuclei(seed=i)[0])
    out = tmp_path / "out"
    res = runner.invoke(app, ["segment", str(acq), "--model", str(tiny_model_file), "--out", str(out)])
    assert res.exit_code == 0, res.output
    wells = pd.read_csv(out / "wells.csv")
    assert list(wells["well"]) == ["A01", "B02"]
    assert list(wells["n_fields"]) == [2, 1]
    fields = pd.read_csv(out / "fields.csv")
    assert {"plate", "well", "field", "time_h"} <= set(fields.columns)
    assert len(list((out / "labels").glob("*.tif"))) == 3


@pytest.mark.parametrize(
    "args, needle",
    [
        (["segment", "{missing}", "--out", "{out}", "--model", "{model}"], "no such file"),
        (["segment", "{imgs}", "--out", "{out}", "--model", "no-such-model"], "unknown model"),
        (["segment", "{imgs}", "--out", "{out}", "--model", "{bad}"], "not a readable model"),
        (["segment", "{imgs}", "--out", "{out}", "--model", "{model}", "--diameter", "big"], "positive number"),
        (["hits", "{missing}", "--out", "{out}"], "wells table or plate-reader export not found"),
    ],
)
def test_user_errors_are_one_line_exit_2(args, needle, image_folder, tiny_model_file, tmp_path, monkeypatch, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"garbage")
    sub = {
        "missing": str(tmp_path / "nope"),
        "out": str(tmp_path / "o"),
        "model": str(tiny_model_file),
        "imgs": str(image_folder),
        "bad": str(bad),
    }
    monkeypatch.setattr("sys.argv", ["ferroscreen"] + [a.format(**sub) for a in args])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_hits_cli(tmp_path):
    from .test_knockdown import make_screen

    wells, layout = make_screen()
    wells.to_csv(tmp_path / "wells.csv", index=False)
    layout.to_csv(tmp_path / "layout.csv")
    res = runner.invoke(
        app,
        [
            "hits",
            str(tmp_path / "wells.csv"),
            "--layout",
            str(tmp_path / "layout.csv"),
            "--out",
            str(tmp_path / "h"),
            "--no-plots",
            "--bscore",
        ],
    )
    assert res.exit_code == 0, res.output
    genes = pd.read_csv(tmp_path / "h" / "genes.csv")
    assert set(genes.head(5)["gene"]) == {"FBXO5", "CCNA2", "UBB", "POLR2A", "BIGNUC"}


def test_acquisition_store_is_readable(tmp_path, tiny_model_file):
    from ferroscreen.io.incucyte import incucyte_export_name
    from ferroscreen.score.store import read_cells, read_store

    acq = tmp_path / "acq"
    acq.mkdir()
    for i, well in enumerate(["A1", "C3"]):
        tifffile.imwrite(acq / incucyte_export_name(3, well, 1, 0.0, channel="nuc"), make_nuclei(seed=i)[0])
    out = tmp_path / "out"
    res = runner.invoke(app, ["segment", str(acq), "--model", str(tiny_model_file), "--out", str(out)])
    assert res.exit_code == 0, res.output
    store = read_store(out / "store" / "VID3.h5")
    assert store.attrs["task"] == "nuclei-segmentation"
    fields = pd.read_csv(out / "fields.csv")
    assert list(store.frames["n_cells"]) == list(fields["n_nuclei"])
    assert len(read_cells(out / "store" / "VID3.h5")) == fields["n_nuclei"].sum()
    assert list(store.wells["well"]) == ["A01", "C03"]


def test_unreadable_image_fails_alone(tmp_path, tiny_model_file):
    from ferroscreen.io.incucyte import incucyte_export_name
    from ferroscreen.score.store import FAILED, read_store

    acq = tmp_path / "acq"
    acq.mkdir()
    for i, (well, field) in enumerate([("A1", 1), ("A1", 2), ("B2", 1), ("C3", 1)]):
        tifffile.imwrite(acq / incucyte_export_name(5, well, field, 0.0, channel="nuc"), make_nuclei(seed=i)[0])
    broken = acq / incucyte_export_name(5, "A1", 2, 0.0, channel="nuc")
    broken.write_bytes(broken.read_bytes()[:300])  # truncated TIFF
    (acq / incucyte_export_name(5, "C3", 1, 0.0, channel="nuc")).write_bytes(b"not a tiff")
    out = tmp_path / "out"
    res = runner.invoke(app, ["segment", str(acq), "--model", str(tiny_model_file), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "2 could not be read" in res.output and res.output.count("failed image:") == 2
    fields = pd.read_csv(out / "fields.csv").set_index(["well", "field"])
    assert list(fields["status"]) == ["done", "failed", "done", "failed"]
    assert broken.name in fields.loc[("A01", 2), "error"] and fields.loc[("A01", 2), "qc_flags"] == "failed"
    assert np.isnan(fields.loc[("A01", 2), "n_nuclei"])
    wells = pd.read_csv(out / "wells.csv").set_index("well")
    assert wells.loc["A01", "n_fields"] == 1 and wells.loc["A01", "n_fields_failed"] == 1
    assert wells.loc["A01", "nuclei_per_field"] == fields.loc[("A01", 1), "n_nuclei"]
    assert "failed:1" in wells.loc["A01", "qc_flags"]
    assert np.isnan(wells.loc["C03", "n_nuclei"]) and wells.loc["C03", "n_fields"] == 0  # not a lethal zero
    assert sorted(p.stem for p in (out / "labels").glob("*.tif")) == sorted(
        n for n, s in zip(fields["image"], fields["status"], strict=True) if s == "done")
    frames = read_store(out / "store" / "VID5.h5").frames
    assert list(frames["status"] == FAILED) == [False, True, False, True]
    assert "cannot decode" in frames["reason"].iloc[1] or "truncated" in frames["reason"].iloc[1]


def test_no_readable_image_is_a_one_line_error(tmp_path, tiny_model_file, monkeypatch, capsys):
    folder = tmp_path / "imgs"
    folder.mkdir()
    (folder / "a.tif").write_bytes(b"garbage")
    (folder / "b.png").write_bytes(b"garbage")
    monkeypatch.setattr("sys.argv", ["ferroscreen", "segment", str(folder), "--model", str(tiny_model_file),
                                     "--out", str(tmp_path / "o")])
    with pytest.raises(SystemExit) as exc:
        main()
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "no image could be read (2 tried)" in err and len(err.strip().splitlines()) == 1


def test_stopped_run_resumes_to_the_same_outputs(tmp_path, tiny_model_file):
    from ferroscreen.segment.run import segment_input

    folder = tmp_path / "imgs"
    folder.mkdir()
    for seed in range(5):
        tifffile.imwrite(folder / f"f{seed}.tif", make_nuclei(seed=seed)[0])
    whole = segment_input(folder, tmp_path / "whole", model=str(tiny_model_file), diameter="model")

    class Stop(Exception):
        pass

    def stop_after_two(done, total):
        if done == 2:
            raise Stop

    out = tmp_path / "stopped"
    with pytest.raises(Stop):
        segment_input(folder, out, model=str(tiny_model_file), diameter="model", progress=stop_after_two)
    assert sorted(p.name for p in (out / "labels").iterdir()) == ["f0.tif", "f1.tif"]
    assert not (out / "fields.csv").exists()
    res = runner.invoke(app, ["segment", str(folder), "--model", str(tiny_model_file), "--out", str(out)])
    assert res.exit_code != 0 and "--resume" in str(res.exception)  # refused: nothing written is lost
    (out / "labels" / "f1.tif").write_bytes(b"half a file")  # recomputed, not trusted
    resumed = segment_input(folder, out, model=str(tiny_model_file), diameter="model", resume=True)
    assert resumed["n_reused"] == 1 and whole["n_reused"] == 0
    pd.testing.assert_frame_equal(pd.read_csv(out / "fields.csv").drop(columns="path"),
                                  pd.read_csv(tmp_path / "whole" / "fields.csv").drop(columns="path"))
    for stem in range(5):
        np.testing.assert_array_equal(tifffile.imread(out / "labels" / f"f{stem}.tif"),
                                      tifffile.imread(tmp_path / "whole" / "labels" / f"f{stem}.tif"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    tifffile.imwrite(elsewhere / "g.tif", make_nuclei(seed=9)[0])
    before = (out / "fields.csv").read_bytes()
    with pytest.raises(Exception, match=r"holds a segment run of .*imgs, not of .*elsewhere"):
        segment_input(elsewhere, out, model=str(tiny_model_file), diameter="model", resume=True)
    assert (out / "fields.csv").read_bytes() == before
    run = json.loads((out / "run.json").read_text())
    (out / "run.json").write_text(json.dumps({k: v for k, v in run.items() if k not in ("input", "z_plane")}))
    with pytest.raises(Exception, match="not of .*elsewhere"):  # a run from before run.json named its input
        segment_input(elsewhere, out, model=str(tiny_model_file), diameter="model", resume=True)
    (out / "run.json").write_text(json.dumps(run))
    other = tmp_path / "other.pt"
    other.write_bytes(tiny_model_file.read_bytes() + b"\0")  # same weights, another file
    with pytest.raises(Exception, match="another model"):
        segment_input(folder, out, model=str(other), diameter="model", resume=True)


def test_multichannel_files_need_the_nuclear_channel(tmp_path, tiny_model_file, monkeypatch, capsys):
    stacks, plain = tmp_path / "stacks", tmp_path / "plain"
    stacks.mkdir()
    plain.mkdir()
    for seed in range(2):
        nuclei, _ = make_nuclei(seed=seed)
        other = make_nuclei(seed=seed + 10)[0]  # another stain
        tifffile.imwrite(stacks / f"f{seed}.tif", np.stack([other, nuclei]))  # (C, Y, X)
        tifffile.imwrite(plain / f"f{seed}.tif", nuclei)
    monkeypatch.setattr("sys.argv", ["ferroscreen", "segment", str(stacks), "--model", str(tiny_model_file),
                                     "--out", str(tmp_path / "refused")])
    with pytest.raises(SystemExit) as exc:
        main()
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "2 channels that differ" in err and "--channel-index" in err
    common = ["--model", str(tiny_model_file), "--diameter", "model"]
    res = runner.invoke(app, ["segment", str(stacks), "--out", str(tmp_path / "a"), "--channel-index", "1", *common])
    assert res.exit_code == 0, res.output
    assert runner.invoke(app, ["segment", str(plain), "--out", str(tmp_path / "b"), *common]).exit_code == 0
    for seed in range(2):
        np.testing.assert_array_equal(tifffile.imread(tmp_path / "a" / "labels" / f"f{seed}.tif"),
                                      tifffile.imread(tmp_path / "b" / "labels" / f"f{seed}.tif"))
    res = runner.invoke(app, ["segment", str(stacks), "--out", str(tmp_path / "a"), "--resume", *common])
    assert res.exit_code != 0 and "--channel-index 1" in str(res.exception)


def test_segment_cellomics_plates_writes_wells_per_plate(tmp_path, tiny_model_file):
    """A CellInsight folder (two plates, native .C01 files) is an acquisition: wells and one store per plate."""
    from ferroscreen.io.cellomics import write_cellomics_image

    acq = tmp_path / "cx7"
    for i, (plate, well, field) in enumerate(
        [("MFGTMPcx7_170702000001", "B14", 0), ("MFGTMPcx7_170702000001", "B14", 7), ("MFGTMPcx7_170703000002", "P24", 0)]
    ):
        write_cellomics_image(acq / f"{plate}_{well}f{field:02d}d0.C01", make_nuclei(seed=i)[0])
    out = tmp_path / "out"
    res = runner.invoke(app, ["segment", str(acq), "--model", str(tiny_model_file), "--out", str(out)])
    assert res.exit_code == 0, res.output
    wells = pd.read_csv(out / "wells.csv")
    assert list(zip(wells["plate"], wells["well"], wells["n_fields"], strict=True)) == [
        ("MFGTMPcx7_170702000001", "B14", 2), ("MFGTMPcx7_170703000002", "P24", 1)
    ]
    assert sorted(p.name for p in (out / "store").glob("*.h5")) == [
        "MFGTMPcx7_170702000001.h5", "MFGTMPcx7_170703000002.h5"
    ]
    assert len(list((out / "labels").glob("*.tif"))) == 3


def test_segment_ome_zarr_plate_matches_its_tiffs(tmp_path, tiny_model_file):
    """An NGFF 0.5 plate (Zarr v3) is segmented like the same images as files: same labels, same wells."""
    pytest.importorskip("zarr")
    from ferroscreen.io import open_acquisition
    from ferroscreen.io.cellomics import write_cellomics_image
    from ferroscreen.io.omezarr_write import write_omezarr

    acq = tmp_path / "cx7"
    for i, (well, field) in enumerate([("B14", 0), ("B14", 7), ("P24", 0)]):
        write_cellomics_image(acq / f"MFGTMPcx7_170702000001_{well}f{field:02d}d0.C01", make_nuclei(seed=i)[0])
    write_omezarr(open_acquisition(acq), tmp_path / "zarr", version="0.5")
    common = ["--model", str(tiny_model_file), "--diameter", "model"]
    for src, out in ((acq, "a"), (tmp_path / "zarr", "b")):
        res = runner.invoke(app, ["segment", str(src), "--out", str(tmp_path / out), *common])
        assert res.exit_code == 0, res.output
    a, b = (pd.read_csv(tmp_path / o / "wells.csv") for o in "ab")
    pd.testing.assert_frame_equal(a.drop(columns="channel", errors="ignore"), b.drop(columns="channel", errors="ignore"))
    labels = sorted(p.name for p in (tmp_path / "b" / "labels").glob("*.tif"))
    assert labels == ["MFGTMPcx7_170702000001_B14_f01_d0_t0h.tif", "MFGTMPcx7_170702000001_B14_f02_d0_t0h.tif",
                      "MFGTMPcx7_170702000001_P24_f01_d0_t0h.tif"]
    fields = [tifffile.imread(tmp_path / "b" / "labels" / n) for n in labels]
    expected = sorted(tifffile.imread(p).sum() for p in (tmp_path / "a" / "labels").glob("*.tif"))
    assert sorted(f.sum() for f in fields) == expected


def test_nuclear_channel_of_a_cytation_plate_is_found_by_name(tmp_path, tiny_model_file):
    """DAPI beside GFP: the DAPI channel is segmented without --channel, and the run says so."""
    acq = tmp_path / "240105_101500_PlateA"
    acq.mkdir()
    for i, well in enumerate(("B5", "C7")):
        nuclei, _ = make_nuclei(seed=i)
        tifffile.imwrite(acq / f"{well}_03_1_1_DAPI_001.tif", nuclei)
        tifffile.imwrite(acq / f"{well}_03_2_1_GFP_001.tif", make_nuclei(seed=i + 10)[0])
    res = runner.invoke(app, ["segment", str(acq), "--model", str(tiny_model_file), "--out", str(tmp_path / "o"),
                              "--diameter", "model"])
    assert res.exit_code == 0, res.output
    assert "note: segmenting channel 'DAPI' (the nuclear stain) of DAPI, GFP" in res.output
    wells = pd.read_csv(tmp_path / "o" / "wells.csv")
    assert list(wells["well"]) == ["B05", "C07"]
    res = runner.invoke(app, ["segment", str(acq), "--model", str(tiny_model_file), "--out", str(tmp_path / "g"),
                              "--diameter", "model", "--channel", "gfp"])
    assert res.exit_code == 0 and "note: segmenting" not in res.output


def _two_plane_stack(tmp_path, zstack_writer):
    """Two wells' nuclei images in ``imgs/`` and a CellVoyager stack of them (plane 0 blurred, plane 1 focused)."""
    imgs = tmp_path / "imgs"
    imgs.mkdir()
    rows = []
    for i, well in enumerate(["B02", "B03"]):
        tifffile.imwrite(imgs / f"{well}.tif", make_nuclei(seed=i)[0])
        rows.append({"plate": "P1", "well": well, "field": 1, "channel": "Hoechst", "time_h": 0.0, "z": 0,
                     "path": str(imgs / f"{well}.tif")})
    stack = zstack_writer(pd.DataFrame(rows), tmp_path / "P1")
    return imgs, stack


def test_segment_z_stack_reads_one_plane(tmp_path, tiny_model_file, zstack_writer, monkeypatch, capsys):
    """Of a two-plane CellVoyager stack, --z-plane 1 segments the focused images; by default the lowest, said so."""
    imgs, stack = _two_plane_stack(tmp_path, zstack_writer)
    plain, focused, lowest = tmp_path / "plain", tmp_path / "z1", tmp_path / "z0"
    for args in ([str(imgs), "--out", str(plain)], [str(stack), "--out", str(focused), "--z-plane", "1"],
                 [str(stack), "--out", str(lowest)]):
        res = runner.invoke(app, ["segment", *args, "--model", str(tiny_model_file)])
        assert res.exit_code == 0, res.output
    assert "z plane 0 (the lowest) of planes 0, 1; --z-plane picks another" in res.output
    f1, f0 = pd.read_csv(focused / "fields.csv"), pd.read_csv(lowest / "fields.csv")
    assert list(f1["z"]) == [1, 1] and list(f0["z"]) == [0, 0]
    assert json.loads((focused / "segment.json").read_text())["z_plane"] == 1
    for well, label_file in zip(["B02", "B03"], sorted((focused / "labels").glob("*.tif")), strict=True):
        assert np.array_equal(tifffile.imread(label_file), tifffile.imread(plain / "labels" / f"{well}.tif"))
    for args, needle in (([str(stack), "--out", str(lowest), "--resume", "--z-plane", "1"], "was segmented on z plane 0"),
                         ([str(imgs), "--out", str(tmp_path / "x"), "--z-plane", "1"], "this is a folder of images")):
        monkeypatch.setattr("sys.argv", ["ferroscreen", "segment", *args, "--model", str(tiny_model_file)])
        with pytest.raises(SystemExit) as exc:
            main()
        err = capsys.readouterr().err
        assert exc.value.code == 2 and needle in err and len(err.strip().splitlines()) == 1


def test_segment_z_stack_projections(tmp_path, tiny_model_file, zstack_writer, monkeypatch, capsys):
    """--z-plane best takes each field's focused plane (labels as the plain images'); max projects every plane."""
    imgs, stack = _two_plane_stack(tmp_path, zstack_writer)
    plain, best, most = tmp_path / "plain", tmp_path / "best", tmp_path / "max"
    for args in ([str(imgs), "--out", str(plain)], [str(stack), "--out", str(best), "--z-plane", "best"],
                 [str(stack), "--out", str(most), "--z-plane", "max"]):
        res = runner.invoke(app, ["segment", *args, "--model", str(tiny_model_file)])
        assert res.exit_code == 0, res.output
    assert "z planes 0, 1: maximum-intensity projection" in res.output
    fb, fm = pd.read_csv(best / "fields.csv"), pd.read_csv(most / "fields.csv")
    assert list(fb["z"]) == ["best", "best"] and list(fb["z_best"]) == [1, 1]
    assert list(fm["z"]) == ["max", "max"] and all(len(p.split(";")) == 2 for p in fm["planes"])
    assert json.loads((best / "segment.json").read_text())["z_plane"] == "best"
    for well, label_file in zip(["B02", "B03"], sorted((best / "labels").glob("*.tif")), strict=True):
        assert np.array_equal(tifffile.imread(label_file), tifffile.imread(plain / "labels" / f"{well}.tif"))
    assert (fm["n_nuclei"] > 0).all() and fm["status"].eq("done").all()
    import h5py

    with h5py.File(best / "store" / "P1.h5") as h5, h5py.File(most / "store" / "P1.h5") as h5m:
        assert list(h5["frames"]["z"][:]) == [1, 1] and list(h5m["frames"]["z"][:]) == [-1, -1]
        assert h5m.attrs["z_plane"] == "max"
    for args, needle in (([str(stack), "--out", str(tmp_path / "x"), "--z-plane", "sharpest"], "--z-plane 'sharpest'"),
                         ([str(stack), "--out", str(best), "--resume", "--z-plane", "max"],
                          "was segmented on z plane best")):
        monkeypatch.setattr("sys.argv", ["ferroscreen", "segment", *args, "--model", str(tiny_model_file)])
        with pytest.raises(SystemExit) as exc:
            main()
        err = capsys.readouterr().err
        assert exc.value.code == 2 and needle in err and len(err.strip().splitlines()) == 1


def test_min_size_is_applied_recorded_and_kept_on_resume(image_folder, tmp_path):
    """--min-size replaces the model's smallest nucleus (the shipped model on blurred disks of 130-470 px): no
    object under it, the others as they were; recorded in run.json and segment.json; a resume with another
    size is refused."""
    from ferroscreen.segment.run import segment_input

    plain = segment_input(image_folder, tmp_path / "plain", diameter="model")
    big = segment_input(image_folder, tmp_path / "big", diameter="model", min_size=200)
    assert plain["postprocess"]["min_size"] == 40 and big["postprocess"]["min_size"] == 200
    assert json.loads((tmp_path / "big" / "run.json").read_text())["min_size"] == 200
    for stem in ("a_field", "b_field"):
        sizes = np.bincount(tifffile.imread(tmp_path / "big" / "labels" / f"{stem}.tif").ravel())[1:]
        before = np.bincount(tifffile.imread(tmp_path / "plain" / "labels" / f"{stem}.tif").ravel())[1:]
        assert sorted(sizes[sizes > 0]) == sorted(before[before >= 200])
    assert 0 < big["n_nuclei"] < plain["n_nuclei"]
    with pytest.raises(Exception, match="was segmented with --min-size 200"):
        segment_input(image_folder, tmp_path / "big", diameter="model", min_size=100, resume=True)
