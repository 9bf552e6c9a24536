"""What ``train`` says when Lightning's log folder cannot be written, and when the bundle gets no int8 graph.

The reported cases: ``train`` in a read-only working folder ended ``error: .../runs: Read-only file
system``, naming neither Lightning's log folder nor how to put it elsewhere; a bundle without an int8
graph did not say how to add one later.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_an_unwritable_log_folder_is_named_with_the_option_that_moves_it(crop_folder, tmp_path, cli):
    work = tmp_path / "work"
    work.mkdir()
    (work / "runs").write_text("a file where the recipe's log folder goes (as a read-only working folder refuses it)")
    proc = cli("train", "--config", REPO / "configs" / "train" / "folder.yaml", "--out", tmp_path / "m.pt",
               "--data.init_args.root", crop_folder, "--data.init_args.crop_size", "32", "--model.weights", "none",
               "--model.input_size", "32", "--trainer.max_epochs", "1", "--trainer.accelerator", "cpu", cwd=work)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]  # Lightning's start-up notices come before it
    assert last.startswith(f"error: {work / 'runs'}"), last
    assert (f": Lightning writes its logs and checkpoints under runs/train-folder in the working folder {work} "
            f"(trainer.default_root_dir); pass --trainer.default_root_dir DIR naming a folder it can write") in last
    assert not (tmp_path / "m.pt").exists()


def test_a_bundle_without_an_int8_graph_says_how_to_add_it(tmp_path):
    from ferroscreen.cli import _int8_line

    line = _int8_line({"skipped": f"no room in the temporary folder {tmp_path} (TMPDIR): No space left on device"},
                      tmp_path / "m.pt")
    assert line == (f"no int8 graph (no room in the temporary folder {tmp_path} (TMPDIR): No space left on device): "
                    f"CPU scoring runs in float; `ferroscreen quantize {tmp_path / 'm.pt'} --data PLATE --out BUNDLE` "
                    f"adds it later")
    assert _int8_line({"argmax_agreement": 0.98, "check_crops": 50}, tmp_path / "m.pt").startswith("int8 graph (CPU")
    assert _int8_line({}, tmp_path / "m.pt") == ""


def test_a_bundle_without_validation_crops_says_so_instead_of_a_zero_macro_f1(tmp_path):
    from ferroscreen.cli import _int8_line, _validation_words

    meta = {"validation": {"macro_f1": 0.0, "n": 0}, "init": "none", "temperature": 1.0}
    assert _validation_words(meta) == "no validation crops, so no macro-F1 and no fitted temperature (init none)"
    meta = {"validation": {"macro_f1": 0.8123, "n": 40}, "init": "none", "temperature": 1.234}
    assert _validation_words(meta) == "macro-F1 0.812 on 40 validation crops (init none, temperature 1.23)"
    # int8 checked on training crops when there were no validation crops: named as such
    q = {"argmax_agreement": 0.99, "check_crops": 64, "check_source": "training crops (no validation crops)"}
    assert _int8_line(q, tmp_path / "m.pt").endswith("99.0% of 64 training crops (no validation crops)")
