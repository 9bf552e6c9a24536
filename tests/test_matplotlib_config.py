"""With HOME read-only, the CLI gives matplotlib a temporary config folder before it is imported.

The reported case: ``score``, ``export`` and ``report`` with HOME not writable each printed
matplotlib's two-line warning (``mkdir -p failed for path ...``, ``Matplotlib created a temporary
cache directory ...; set MPLCONFIGDIR``) on every run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

#: ``main()`` with an app that imports matplotlib (as score, export and report do) and prints MPLCONFIGDIR.
ENTRY = """
import ferroscreen.cli as cli

def app(**kwargs):
    import os
    import matplotlib.pyplot

    print(os.environ.get("MPLCONFIGDIR"))
    return 0

cli.app = app
cli.main()
"""


def _run(home: Path, **env: str) -> subprocess.CompletedProcess:
    """The entry run in a fresh interpreter (matplotlib not imported yet) with ``HOME`` and ``env``."""
    base = {k: v for k, v in os.environ.items() if k not in ("MPLCONFIGDIR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME")}
    return subprocess.run([sys.executable, "-c", ENTRY], capture_output=True, text=True, timeout=120,
                          env={**base, "HOME": str(home), **env})


def test_a_home_that_cannot_be_written_gets_a_temporary_folder_and_no_warning(tmp_path):
    (tmp_path / "file").write_text("HOME under a file: nothing can be made in it (as a read-only HOME)")
    proc = _run(tmp_path / "file" / "home", TMPDIR=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "mkdir -p failed" not in proc.stderr and "MPLCONFIGDIR" not in proc.stderr, proc.stderr
    used = Path(proc.stdout.strip())
    assert used.parent == tmp_path and used.name.startswith("ferroscreen-matplotlib-")
    assert not used.exists()  # removed at exit


def test_a_writable_home_or_a_given_mplconfigdir_is_left_alone(tmp_path):
    proc = _run(tmp_path / "home")
    assert proc.returncode == 0 and proc.stdout.strip() == "None", proc.stderr
    mine = tmp_path / "mine"
    mine.mkdir()
    proc = _run(tmp_path / "file" / "home", MPLCONFIGDIR=str(mine))
    assert proc.returncode == 0 and proc.stdout.strip() == str(mine), proc.stderr
