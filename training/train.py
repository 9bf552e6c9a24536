"""LightningCLI entry for the death-mode classifier.

Usage::

    python training/train.py fit --config configs/train/demo.yaml --out model.pt \
        --data.init_args.root PATH --trainer.max_epochs 5

``ferroscreen train --config ... --out ...`` runs the same entry.
"""

from ferroscreen.tasks.lightning_cli import cli_main

if __name__ == "__main__":
    cli_main()
