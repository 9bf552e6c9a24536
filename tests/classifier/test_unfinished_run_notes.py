"""What an unfinished training run says of the checkpoints it keeps: each once.

Was: a logger's ``version_N`` and its ``checkpoints`` folder (both created by the run) each printed
"its checkpoint is kept" for the same file, so an interrupted ``train`` said it twice before its
``terminated (SIGTERM)`` line.
"""

from __future__ import annotations

import os

from ferroscreen.tasks.lightning_cli import remove_unfinished_run

NOTE = "note: training ended without a bundle; its checkpoint is kept: "


def _run_folders(tmp_path, *names: str):
    version = tmp_path / "runs" / "lightning_logs" / "version_0"
    (version / "checkpoints").mkdir(parents=True)
    for i, name in enumerate(names):
        (version / "checkpoints" / name).write_bytes(b"weights")
        os.utime(version / "checkpoints" / name, ns=(10**18 + i, 10**18 + i))  # the last named is the newest
    top = tmp_path / "runs"
    return version, [(version, top), (version / "checkpoints", top), (tmp_path / "runs" / "gone", top)]


def test_a_checkpoint_kept_by_two_of_the_runs_folders_is_said_once(tmp_path, capsys):
    version, folders = _run_folders(tmp_path, "epoch=0-step=1.ckpt")
    assert remove_unfinished_run(folders) == []
    err = capsys.readouterr().err
    assert err == f"{NOTE}{version / 'checkpoints' / 'epoch=0-step=1.ckpt'}\n"
    assert (version / "checkpoints" / "epoch=0-step=1.ckpt").is_file()


def test_several_checkpoints_are_one_line_naming_the_newest(tmp_path, capsys):
    version, folders = _run_folders(tmp_path, "epoch=0-step=1.ckpt", "epoch=1-step=2.ckpt", "last.ckpt")
    remove_unfinished_run(folders)
    err = capsys.readouterr().err
    assert err == f"{NOTE}{version / 'checkpoints' / 'last.ckpt'} (and 2 more in {version})\n"


def test_a_folder_without_a_checkpoint_goes_and_says_nothing(tmp_path, capsys):
    version = tmp_path / "runs" / "lightning_logs" / "version_0"
    version.mkdir(parents=True)
    (version / "config.yaml").write_text("x: 1\n")
    removed = remove_unfinished_run([(version, tmp_path / "runs")])
    assert not (tmp_path / "runs").exists() and version in removed
    assert capsys.readouterr().err == ""
