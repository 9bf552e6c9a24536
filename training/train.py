"""LightningCLI entry for the death-mode classifier.

Usage::

    python training/train.py fit --config configs/train/demo.yaml --out model.pt \
        --data.init_args.root PATH --trainer.max_epochs 5

``ferroscreen train --config ... --out ...`` runs the same entry. SIGTERM (``kill``, ``timeout``, SLURM) or
Ctrl-C ends it with one line naming the last checkpoint (``--ckpt_path`` resumes from it), exit 143 or 130; bad
input (an existing ``--out`` bundle, an unreadable data root) with one line, exit 2.
"""

import sys

from ferroscreen.errors import FerroscreenError
from ferroscreen.tasks.lightning_cli import cli_main
from ferroscreen.tasks.training_run import TrainingInterrupted, ending_training_on_interrupt

if __name__ == "__main__":
    try:
        with ending_training_on_interrupt():
            cli_main()
    except TrainingInterrupted as exc:
        print(exc.line(), file=sys.stderr)
        sys.exit(exc.exit_code)
    except FerroscreenError as exc:  # bad input (an existing --out, an unreadable root): one line, as `train`
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
