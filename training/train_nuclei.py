"""LightningCLI entry for the nuclei segmenter.

python training/train_nuclei.py fit --config configs/segment/aits.yaml
python training/train_nuclei.py export CKPT OUT.pt   # checkpoint -> shippable weights file
python training/train_nuclei.py export CKPT1 CKPT2 ... OUT.pt   # their average (a weight soup)
"""

from __future__ import annotations

import sys

import torch


def cli_main(args: list[str] | None = None, run: bool = True):
    from pytorch_lightning.cli import LightningCLI

    from ferroscreen.datamodules.nuclei import NucleiDataModule
    from ferroscreen.tasks.nuclei import NucleiSegmenter

    return LightningCLI(
        NucleiSegmenter,
        NucleiDataModule,
        subclass_mode_model=True,
        subclass_mode_data=True,
        args=args,
        run=run,
        save_config_kwargs={"overwrite": True},
    )


if __name__ == "__main__":
    torch.set_num_threads(int(__import__("os").environ.get("FERRO_THREADS", "1")))
    if len(sys.argv) > 1 and sys.argv[1] == "export":
        from ferroscreen.segment.model_file import export_checkpoint

        if len(sys.argv) < 4:
            sys.exit("usage: train_nuclei.py export CKPT [CKPT ...] OUT.pt")
        print(export_checkpoint(sys.argv[2:-1], sys.argv[-1]))
    else:
        cli_main()
