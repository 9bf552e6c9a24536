"""train / evaluate as a lab's image analyst runs them: findings of a user sweep, one test each."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from ferroscreen.datamodules.point_annotations import PointAnnotationDataModule
from ferroscreen.errors import FerroscreenError


def _frames(folder, n=3, size=64):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        cv2.imwrite(str(folder / f"img{i}.png"), (np.random.default_rng(i).random((size, size)) * 255).astype(np.uint8))


def _points(folder, rows: str, classes=("alive", "apoptosis"), **kw) -> PointAnnotationDataModule:
    _frames(folder)
    (folder / "p.csv").write_text("image,x,y,class\n" + rows)
    return PointAnnotationDataModule(str(folder / "p.csv"), classes=list(classes), crop_size=16, **kw)


ROWS = "".join(f"img{i}.png,{10 + 5 * k},20,{c}\n" for i in range(3) for k, c in enumerate(("alive", "apoptosis")))


# --- point annotations ----------------------------------------------------------------------------------------

def test_a_class_without_any_point_is_refused(tmp_path):
    """points.yaml lists four classes; a lab annotating two got a 4-way model, two classes never seen, silently."""
    dm = _points(tmp_path, ROWS, classes=("alive", "apoptosis", "ferroptosis", "necroptosis"))
    with pytest.raises(FerroscreenError, match=r"p.csv: no points of class\(es\) ferroptosis, necroptosis.*"
                                               r"--model.classes '\[alive, apoptosis\]'"):
        dm.setup()


def test_points_on_the_last_pixel_are_inside_the_image(tmp_path):
    """QuPath writes pixel-area coordinates: x = 63.6 lies on the last column of a 64 px image."""
    dm = _points(tmp_path, ROWS + "img0.png,63.6,63.9,alive\nimg1.png,-0.4,0,apoptosis\n")
    dm.setup()
    assert dm.summary()["n_train"] + dm.summary()["n_val"] == 8
    with pytest.raises(FerroscreenError, match=r"p.csv:8: point \(64, 10\) lies outside its image \(64 x 64 px\)"):
        _points(tmp_path / "b", ROWS + "img0.png,64,10,alive\n").setup()


def test_a_point_given_twice_counts_once_and_two_classes_for_one_point_are_refused(tmp_path):
    dm = _points(tmp_path, ROWS + "img0.png,10,20,alive\n")
    dm.setup()
    assert dm.summary()["n_train"] + dm.summary()["n_val"] == 6
    assert any("1 point(s) given twice" in n and "p.csv:8" in n for n in dm.summary()["notes"])
    with pytest.raises(FerroscreenError, match=r"p.csv:8: point \(10, 20\) is also annotated at .*p.csv:2 with "
                                               r"another class \('apoptosis' and 'alive'\)"):
        _points(tmp_path / "b", ROWS + "img0.png,10,20,apoptosis\n").setup()


def test_class_names_of_another_case_are_hinted(tmp_path):
    """QuPath's classes are capitalised (``Apoptosis``); the message says which class was meant."""
    dm = _points(tmp_path, ROWS.replace(",apoptosis", ",Apoptosis"))
    with pytest.raises(FerroscreenError, match=r"classes \['Apoptosis'\] are not among .*case-sensitive: "
                                               r"Apoptosis -> apoptosis"):
        dm.setup()


# --- train: options and runs ----------------------------------------------------------------------------------

REPO = Path(__file__).resolve().parents[2]
FOLDER_YAML = REPO / "configs" / "train" / "folder.yaml"


@pytest.fixture()
def two_class_crops(tmp_path):
    root = tmp_path / "crops"
    rng = np.random.default_rng(0)
    for cls in ("alive", "dead"):
        (root / cls).mkdir(parents=True)
        for i in range(6):
            cv2.imwrite(str(root / cls / f"{i}.png"), (rng.random((24, 24)) * 255).astype(np.uint8))
    return root


def _folder_overrides(root, tmp_path, *extra):
    return ["--data.init_args.root", str(root), "--model.classes", "[alive, dead]", "--model.weights", "none",
            "--model.input_size", "32", "--data.init_args.batch_size", "8", "--trainer.accelerator", "cpu",
            "--trainer.logger", "false", "--trainer.enable_progress_bar", "false",
            "--trainer.default_root_dir", str(tmp_path), *extra]


def test_out_that_cannot_take_a_bundle_is_refused_before_training(tmp_path, cli, user_error):
    """--out an existing folder trained to the end, then failed naming its parent and a temporary file."""
    (tmp_path / "models").mkdir()
    (tmp_path / "afile").write_text("x")
    base = ("train", "--config", FOLDER_YAML, "--data.init_args.root", tmp_path / "nowhere")
    user_error(cli(*base, "--out", tmp_path / "models"), "models: is a folder; --out is the bundle file to write, "
               f"e.g. {tmp_path / 'models' / 'model.pt'}")
    user_error(cli(*base, "--out", tmp_path / "afile" / "sub" / "m.pt"), f"{tmp_path / 'afile'} is a file, not a folder")
    user_error(cli("train", "--config", REPO / "configs" / "train", "--out", tmp_path / "m.pt"),
               "train: is a folder, not a training config")


def test_training_entry_refuses_a_bad_out_before_fitting(two_class_crops, tmp_path, monkeypatch):
    """``python training/train.py fit ... --out DIR`` (no run_training in front) fails before any epoch too."""
    from ferroscreen.tasks.lightning_cli import cli_main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.argv", ["train.py"])
    (tmp_path / "models").mkdir()
    fitted = []
    monkeypatch.setattr("ferroscreen.tasks.death_mode.DeathModeClassifier.on_train_start",
                        lambda self: fitted.append(1))
    with pytest.raises(FerroscreenError, match="models: is a folder"):
        cli_main(["fit", "--config", str(FOLDER_YAML), *_folder_overrides(two_class_crops, tmp_path),
                  "--trainer.max_epochs", "1", "--out", str(tmp_path / "models")])
    assert not fitted


def test_no_epoch_trained_writes_no_bundle(two_class_crops, tmp_path, monkeypatch):
    """--trainer.max_epochs 0 wrote a bundle of an untrained network and printed its 'macro-F1'."""
    from ferroscreen.tasks.training_run import run_training

    monkeypatch.chdir(tmp_path)
    with pytest.raises(FerroscreenError, match=r"no training step ran \(trainer.max_epochs 0.*no bundle was written"):
        run_training(FOLDER_YAML, tmp_path / "m.pt", _folder_overrides(two_class_crops, tmp_path,
                                                                         "--trainer.max_epochs", "0"))
    assert not (tmp_path / "m.pt").exists()


def test_ctrl_c_during_training_is_an_interruption_not_a_bad_option(two_class_crops, tmp_path, monkeypatch):
    """Lightning turns Ctrl+C into exit status 1, which was reported as 'invalid training configuration'."""
    import signal

    from ferroscreen.tasks.training_run import run_training

    monkeypatch.chdir(tmp_path)

    def interrupt(self, batch, batch_idx):
        raise KeyboardInterrupt

    monkeypatch.setattr("ferroscreen.tasks.death_mode.DeathModeClassifier.training_step", interrupt)
    handler = signal.getsignal(signal.SIGINT)
    try:
        with pytest.raises(KeyboardInterrupt):
            run_training(FOLDER_YAML, tmp_path / "m.pt", _folder_overrides(two_class_crops, tmp_path,
                                                                             "--trainer.max_epochs", "1"))
    finally:
        signal.signal(signal.SIGINT, handler)  # Lightning ignores SIGINT while it shuts down
    assert not (tmp_path / "m.pt").exists()


def test_a_config_without_data_is_one_line(tmp_path, cli):
    """A recipe without ``data:`` was Lightning's traceback (`train_dataloader` must be implemented)."""
    (tmp_path / "c.yaml").write_text("model:\n  classes: [a, b]\n  weights: none\n  input_size: 32\n"
                                     "trainer:\n  max_epochs: 1\n  logger: false\n")
    proc = cli("train", "--config", tmp_path / "c.yaml", "--out", tmp_path / "m.pt", cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]  # after Lightning's "Seed set to 0"
    assert last.startswith("error: invalid training configuration: no data section"), last


@pytest.mark.parametrize(("kw", "message"), [
    ({"crop_size": 0}, "data.crop_size 0: expected a whole number of 1 or more"),
    ({"crop_size": -5}, "data.crop_size -5"),
    ({"batch_size": 0}, "data.batch_size 0: expected a whole number of 1 or more"),
    ({"val_fraction": 1.5}, r"data.val_fraction 1.5: expected a share from 0 up to \(not including\) 1"),
    ({"val_fraction": -0.1}, "data.val_fraction -0.1"),
])
def test_impossible_data_settings_are_one_line(two_class_crops, kw, message):
    """crop_size 0 and batch_size 0 were tracebacks (OpenCV, DataLoader); val_fraction 1.5 passed silently."""
    from ferroscreen.datamodules import CropFolderDataModule

    with pytest.raises(FerroscreenError, match=message):
        CropFolderDataModule(str(two_class_crops), **kw)


def test_an_unknown_backbone_does_not_claim_a_fallback(recwarn):
    """weights_fallback warned 'falling back to random initialisation' before failing on the name anyway."""
    from ferroscreen.tasks.death_mode import DeathModeClassifier

    with pytest.raises(FerroscreenError, match="unknown backbone 'resnet999'"):
        DeathModeClassifier(["a", "b"], backbone="resnet999", weights_fallback=True)
    assert not [w for w in recwarn if "falling back" in str(w.message)]


# --- evaluate ---------------------------------------------------------------------------------------------------

def _bundle(path, classes, normalization, detector=None):
    import torch

    from ferroscreen.models.bundle import save_bundle
    from ferroscreen.models.death_mode_net import DeathModeNet

    torch.manual_seed(0)
    net = DeathModeNet("mobilenet_v3_small", len(classes), "none", input_size=32).eval()
    return save_bundle(path, net, {"classes": list(classes), "crop_size": 24, "input_size": 32,
                                   "backbone": "mobilenet_v3_small", "temperature": 1.0,
                                   "detector": detector or {"preset": "suspension", "crop_mask": 1.5},
                                   "normalization": normalization})


def test_crop_folder_is_normalised_as_a_plate_trained_model_expects(tmp_path, monkeypatch):
    """A plate model (background normalisation) was fed crops scaled by their own percentiles, silently."""
    import tifffile

    from ferroscreen.crops import normalize_to_background
    from ferroscreen.tasks.evaluation import evaluate_path

    root = tmp_path / "crops"
    yy, xx = np.mgrid[:24, :24]
    for k, cls in enumerate(("alive", "apoptosis")):
        (root / cls).mkdir(parents=True)
        img = np.full((24, 24), 20000, np.uint16)
        img[(xx - 12) ** 2 + (yy - 12) ** 2 <= (4 + k) ** 2] = 14000  # a cell 30 % darker than the background
        tifffile.imwrite(root / cls / "0.tif", img)
    model = _bundle(tmp_path / "m.pt", ["alive", "apoptosis"],
                    {"method": "background", "dark": -0.4, "bright": 0.3, "scope": "per frame"})
    seen = []

    def fake_predict(bundle, crops, **kw):
        seen.append(np.asarray(crops, np.float32))
        return np.tile([0.9, 0.1], (len(crops), 1))

    monkeypatch.setattr("ferroscreen.tasks.evaluation.predict_crops", fake_predict)
    result = evaluate_path(root, model, precision="32")
    want = normalize_to_background(tifffile.imread(root / "alive" / "0.tif"), -0.4, 0.3)
    np.testing.assert_allclose(seen[0][0], want, atol=2e-3)  # background 4/7, the cell 1/7: not stretched to 0..1
    assert any("trained on crops cut from whole frames (background normalisation, crop mask)" in n
               for n in result["notes"])


def test_plate_cells_of_classes_the_model_lacks_are_said(tiny_plate, tmp_path):
    """A two-class model on a plate with four modes: the other modes' cells were dropped without a word."""
    from ferroscreen.tasks.evaluation import evaluate_path

    model = _bundle(tmp_path / "m.pt", ["alive", "apoptosis"], {"method": "percentile"})
    result = evaluate_path(tiny_plate, model, max_frames=8, precision="32")
    truth = __import__("pandas").read_csv(tiny_plate / "truth_cells.csv")
    assert set(truth["class"]) - {"alive", "apoptosis"}  # the plate has other modes
    note = next(n for n in result.get("notes", []) if "matched cells are of class(es) the model does not have" in n)
    assert "model classes alive, apoptosis" in note and "left out of the classification figures" in note


def test_a_folder_of_unsorted_images_says_where_the_classes_go(tmp_path):
    """A points folder (frames at the top, no class sub-folders) was 'no crop images found' beside its images."""
    from ferroscreen.tasks.evaluation import evaluate_path

    _frames(tmp_path / "frames")
    model = _bundle(tmp_path / "m.pt", ["alive", "apoptosis"], {"method": "percentile"})
    with pytest.raises(FerroscreenError, match=r"frames: no crop images found: 3 image\(s\) lie in the folder itself, "
                                               r"where no class is named \(expected .*frames/<class>/\*.png, "
                                               r"classes of the model: alive, apoptosis\)"):
        evaluate_path(tmp_path / "frames", model, precision="32")
