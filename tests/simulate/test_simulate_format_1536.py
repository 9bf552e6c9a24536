"""``simulate --format 1536`` says what it needs: the demo library has no 1536-well plate map."""

from __future__ import annotations

import re


def test_format_1536_with_the_demo_library_says_to_pass_a_library_with_a_1536_map(tmp_path, cli, user_error):
    # before: "the library 'demo' has plate maps for 96-well and 384-well plates", and no word of what to do,
    # while --help offered 96, 384 or 1536 without a condition
    user_error(cli("simulate", tmp_path / "out", "--format", "1536"), "--format 1536", "96-well and 384-well",
               "--library FILE", 'plate_maps: "1536"')
    assert not (tmp_path / "out").exists()
    proc = cli("simulate", "--help")
    assert proc.returncode == 0, proc.stderr
    help_text = re.sub(r"[\s│]+", " ", proc.stdout)  # the help wraps in a box
    assert "The demo library maps 96 and 384 wells; 1536 (or another format) needs --library FILE" in help_text
