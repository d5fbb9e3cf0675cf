"""The fast paths give the bytes of the slow ones: parallel render, the no-change rebuild, the
incremental rebuild of the preview server. Real builds in this process; nothing is timed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import copy_seed_source
from sitegen.build import build
from sitegen.config import load_config


def files_of(out: Path) -> dict[str, bytes]:
    """Every file of a build by relative path, the search bundle (its names carry run-to-run
    hashes) and the build's own bookkeeping left out."""
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and not p.relative_to(out).as_posix().startswith(("pagefind/", ".sitegen"))}


def clean_build(source: Path, out: Path, **options) -> dict[str, bytes]:
    shutil.rmtree(out, ignore_errors=True)
    build(load_config(source), out, search=False, **options)
    return files_of(out)


@pytest.fixture
def source(tmp_path) -> Path:
    return copy_seed_source(tmp_path / "source")


def test_parallel_render_gives_the_bytes_of_a_serial_one(source, tmp_path):
    serial = clean_build(source, tmp_path / "serial", workers=1)
    parallel = clean_build(source, tmp_path / "parallel", workers=3)
    assert len(serial) > 200  # more pages than one worker's chunk: the workers really share them
    assert parallel == serial
