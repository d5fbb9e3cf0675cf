"""`sitegen init DIR`: a new site that builds, checks and deploys as it is.

Every file comes from a string in this module (so a wheel install has them all), except the
topic and hardware rules, which are copied from the default rule file when one ships. The
GitHub Pages workflow is the same text as this repository's own
`.github/workflows/pages.yml` except for how it installs sitegen (a test keeps them equal).
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from . import __version__
from .diagnostics import BuildError, Diagnostic
from .theme import PACKAGE_DIR, default_theme_dir

WORKFLOW_PATH = ".github/workflows/pages.yml"
REQUIREMENTS_FILE = "requirements.txt"
PLACEHOLDER = "YOUR-ACCOUNT"
PLACEHOLDER_REQUIREMENT = f"sitegen @ git+https://github.com/{PLACEHOLDER}/sitegen"
"""Written when it is not known where CI can install this sitegen from: `init` says so, and
every build of the site warns until it is replaced (`placeholder_warnings`)."""
PLACEHOLDER_FIX = (f"replace it with where CI can install sitegen from (a Git URL such as "
                   f"'sitegen @ git+https://github.com/you/sitegen@v{__version__}', or a package index), or "
                   "rerun sitegen init with --requirement SPEC; until then the GitHub Pages workflow "
                   "fails at its install step")


@dataclass(frozen=True)
class Scaffolded:
    """What `scaffold` created."""

    files: tuple[str, ...]
    """Paths relative to the new site's directory."""
    notes: tuple[str, ...]
    """Things the user should know or do next."""


def scaffold(directory: Path, *, title: str | None = None, requirement: str | None = None) -> Scaffolded:
    """Create a new site in `directory`, which must be empty or not exist yet."""
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        what = "is not a directory" if not directory.is_dir() else "is not empty"
        raise BuildError(str(directory), 0, f"{what}; sitegen init creates a new site in an empty or new "
                         "directory, so choose another one (or empty this one first)")
    notes = []
    title = title or _title_from(directory)
    if requirement is None:
        requirement = installed_requirement()
        if requirement is None:
            requirement = PLACEHOLDER_REQUIREMENT
            notes.append(f"{REQUIREMENTS_FILE} names a placeholder: {PLACEHOLDER_FIX}")
        elif requirement.startswith("sitegen @ git+") and "@" in requirement.split("+", 1)[1]:
            notes.append(f"{REQUIREMENTS_FILE} installs sitegen from {requirement.split('+', 1)[1]}: the "
                         "GitHub Pages workflow can install it once that commit is pushed there")
    files = {
        "sitegen.toml": SITE_CONFIG.format(title=_toml_string(title)),
        "content/listings/example.txt": EXAMPLE_LISTING,
        "content/pages/about.md": ABOUT_PAGE.format(title=title),
        "content/notes/.gitkeep": "",
        WORKFLOW_PATH: workflow("python -m pip install -r requirements.txt", "requirements.txt"),
        REQUIREMENTS_FILE: REQUIREMENTS.format(requirement=requirement),
        "README.md": SITE_README.format(title=title),
        ".gitignore": "/site/\n",
    }
    rules = default_rules()
    if rules is not None:
        files["content/rules.toml"] = rules
    else:
        notes.append("no default topic and hardware rules ship with this sitegen; add content/rules.toml "
                     "to classify papers")
    directory.mkdir(parents=True, exist_ok=True)
    for rel, text in sorted(files.items()):
        path = directory / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
    return Scaffolded(tuple(sorted(files)), tuple(notes))


def workflow(install: str, dependency_file: str) -> str:
    """The GitHub Pages workflow, installing sitegen with the shell command `install`."""
    return WORKFLOW.replace("{install}", install).replace("{dependency_file}", dependency_file)


def installed_requirement() -> str | None:
    """A pip requirement for the sitegen running now, when its origin is public (PEP 610)."""
    try:
        distribution = importlib.metadata.distribution("sitegen")
    except importlib.metadata.PackageNotFoundError:
        return None
    try:
        origin = json.loads(distribution.read_text("direct_url.json") or "null")
    except ValueError:
        return None
    if origin is None:
        return f"sitegen=={distribution.version}"  # installed from a package index
    url = origin.get("url", "")
    vcs = origin.get("vcs_info")
    if vcs and url.startswith(("https://", "http://")):
        return f"sitegen @ {vcs.get('vcs', 'git')}+{url}@{vcs.get('commit_id') or vcs.get('requested_revision')}"
    if "archive_info" in origin and url.startswith(("https://", "http://")):
        return f"sitegen @ {url}"
    if "dir_info" in origin and url.startswith("file://"):  # a checkout: where it was cloned from, if public
        return _checkout_requirement(Path(unquote(urlsplit(url).path)))
    return None  # a local file: nothing CI could install


def _checkout_requirement(directory: Path) -> str | None:
    """`sitegen @ git+https://host/owner/repo@COMMIT` for a Git checkout whose `origin` is a public
    https or GitHub ssh address; None otherwise."""
    def git(*args: str) -> str:
        try:
            done = subprocess.run(["git", "-C", str(directory), *args], capture_output=True, text=True,
                                  timeout=10, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.SubprocessError):
            return ""
        return done.stdout.strip() if done.returncode == 0 else ""

    remote = git("config", "--get", "remote.origin.url")
    ssh = re.fullmatch(r"git@github\.com:(?P<path>[\w.-]+/[\w.-]+?)(?:\.git)?", remote)
    if ssh:
        remote = f"https://github.com/{ssh['path']}"
    commit = git("rev-parse", "HEAD")
    if not remote.startswith("https://") or "@" in urlsplit(remote).netloc or not re.fullmatch(r"[0-9a-f]{40}", commit):
        return None
    return f"sitegen @ git+{remote}@{commit}"


def placeholder_warnings(root: Path) -> list[Diagnostic]:
    """A warning when the site's `requirements.txt` still names the placeholder `init` wrote."""
    try:
        lines = (root / REQUIREMENTS_FILE).read_text("utf-8", errors="replace").split("\n")
    except OSError:
        return []
    return [Diagnostic(REQUIREMENTS_FILE, number, f"names a placeholder repository ({PLACEHOLDER}): "
                       + PLACEHOLDER_FIX)
            for number, line in enumerate(lines, 1)
            if PLACEHOLDER in line and not line.lstrip().startswith("#")][:1]


def default_rules() -> str | None:
    """The default topic and hardware rules: shipped in the package, or a checkout's `content/rules.toml`."""
    for path in (PACKAGE_DIR / "rules.toml", default_theme_dir() / "rules.toml",
                 default_theme_dir() / "content" / "rules.toml"):
        if path.is_file():
            return path.read_text(encoding="utf-8")
    return None


def _title_from(directory: Path) -> str:
    name = directory.resolve().name.replace("-", " ").replace("_", " ").strip()
    return name[:1].upper() + name[1:] if name else "Paper listings"


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a TOML basic string


SITE_CONFIG = """\
# Settings of this site (see README.md). Every setting is optional.
title = {title}
description = "Research papers, by topic and by the hardware they ran on."
# The address the site is served at, e.g. "https://user.github.io/repo/". Leave it empty to
# serve at /; the GitHub Pages workflow passes the real address with --base-url.
base_url = ""

# Per-listing settings, keyed by file name. `year` is the year of dates written without one
# (`Sep 29`); without it, sitegen infers it and says so.
[listings."example.txt"]
title = "Example listing"
year = 2025
"""

EXAMPLE_LISTING = """\
new

Get trending papers in your email inbox!

Subscribe

Daily Papers

byAK and the research community

Nov 4

SANA-Video: Efficient Video Generation with Block Linear Diffusion Transformer

We introduce SANA-Video, a small diffusion model that can efficiently generate videos up to 720x1280 \
resolution and minute-length duration. SANA-Video synthesizes high-resolution, high-quality and long videos \
with strong text-video alignment at a remarkably fast speed, deployable on RTX 5090 GPU. In addition, we \
explore effective data filters and model training strategies, narrowing the training cost to 12 days on 64 \
H100 GPUs, which is only 1% of the cost of MovieGen. Moreover, SANA-Video can be deployed on RTX 5090 GPUs \
with NVFP4 precision, accelerating the inference speed of generating a 5-second 720p video from 71s to 29s \
(2.4x speedup).

nvidia NVIDIA
·
Sep 29 2

Splatfacto-W: A Nerfstudio Implementation of Gaussian Splatting for Unconstrained Photo Collections

Novel view synthesis from unconstrained in-the-wild image collections remains a significant yet challenging \
task due to photometric variations and transient occluders that complicate accurate scene reconstruction. \
Although 3D Gaussian Splatting (3DGS) offers faster training and real-time rendering, adapting it for \
unconstrained image collections is non-trivial due to the substantially different architecture. In this \
paper, we introduce Splatfacto-W, an approach that integrates per-Gaussian neural color features and \
per-image appearance embeddings into the rasterization process. Additional video results and code \
integrated into Nerfstudio are available at https://kevinxu02.github.io/splatfactow/.

  • 3 authors
·
Jul 17, 2024 2

QMoE: Practical Sub-1-Bit Compression of Trillion-Parameter Models

Mixture-of-Experts (MoE) architectures offer a general solution to the high inference costs of large \
language models (LLMs) via sparse routing, at the cost of massive parameter counts. In this paper, we \
present QMoE, a compression and execution framework that compresses trillion-parameter MoEs to less than 1 \
bit per parameter, with bespoke GPU decoding kernels. This enables the execution of a trillion-parameter \
model on affordable commodity hardware, like a single server with 4x NVIDIA A6000 or 8x NVIDIA 3090 GPUs, \
at less than 5% runtime overhead relative to ideal uncompressed inference. The source code and compressed \
models are available at github.com/IST-DASLab/qmoe.

  • 2 authors
·
Oct 25, 2023 3
"""

ABOUT_PAGE = """\
# About

{title} collects research papers copied from public paper listings. Each paper has a page
with its abstract, its links, the topics it belongs to and the hardware it ran on.

Use **Search** (press the `/` key anywhere) to find papers by words in the title and
abstract, filtered by topic, hardware and year. Everything is also in
[papers.json](../papers.json) and the [Atom feed](../feed.xml).
"""

REQUIREMENTS = """\
# What the GitHub Pages workflow installs to build this site: sitegen, from where it was
# installed when this site was created. Pin a version or a commit to keep builds repeatable.
{requirement}
"""

SITE_README = """\
# {title}

A research paper site built with sitegen: listings of papers in `content/listings/`
become a website with a page per paper, topic and hardware
pages, search, an Atom feed and a sitemap.

## Working on it

```sh
sitegen serve            # preview at http://127.0.0.1:8000/, rebuilt on every save
sitegen build            # build into site/
sitegen check            # build, then check every link, asset, feed and sitemap
```

- `sitegen.toml`: title, description, base URL, per-listing settings.
- `content/listings/*.txt`: copies of paper listing pages (rich or compact format).
- `content/rules.toml`: which words put a paper under a topic or a piece of hardware.
- `content/pages/*.md`: pages such as `about.md` (served at `about/`).
- `content/notes/SLUG.md`: your notes, shown on the page of the paper with that slug.
- `templates/` and `static/` (optional): files that replace the default theme's, one by one.

## Publishing on GitHub Pages

`.github/workflows/pages.yml` builds the site, checks its links and publishes it on every
push to `main`, under the address GitHub gives the repository (for example
`https://user.github.io/repo/`).

1. Push this directory to a GitHub repository.
2. In the repository, open **Settings → Pages** and set **Source** to **GitHub Actions**.
3. Check that `requirements.txt` names a sitegen your CI can install.
4. Push to `main` (or run the workflow from the **Actions** tab). The address of the site is
   shown in the run's `deploy` job and under **Settings → Pages**.
"""

WORKFLOW = """\
# Build the site with sitegen, check its links, and publish it on GitHub Pages.
# Turn it on once: Settings -> Pages -> Build and deployment -> Source: GitHub Actions.
name: Publish on GitHub Pages

on:
  push:
    branches: [main]
  workflow_dispatch:

permissions: {}

# One deployment at a time; a newer push waits instead of cancelling one in progress.
concurrency:
  group: pages
  cancel-in-progress: false

jobs:
  build:
    name: Build and check the site
    runs-on: ubuntu-latest
    permissions:
      contents: read # check out the repository
      pages: read # ask for the address the site is served at
    steps:
      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1
        with:
          persist-credentials: false
      - uses: actions/setup-python@5fda3b95a4ea91299a34e894583c3862153e4b97 # v7.0.0
        with:
          python-version: "3.12"
          cache: pip
          cache-dependency-path: {dependency_file}
      - name: Install sitegen
        run: {install}
      - name: Find the address GitHub Pages serves the site at
        id: pages
        uses: actions/configure-pages@983d7736d9b0ae728b81ab479565c72886d7745b # v5.0.0
      - name: Build
        run: sitegen build --out _site --base-url "$BASE_URL"
        env:
          BASE_URL: ${{ steps.pages.outputs.base_url }}
      - name: Check links, assets, feed and sitemap
        run: sitegen check --out _site --base-url "$BASE_URL"
        env:
          BASE_URL: ${{ steps.pages.outputs.base_url }}
      - uses: actions/upload-pages-artifact@fc324d3547104276b827a68afc52ff2a11cc49c9 # v5.0.0
        with:
          path: _site
          include-hidden-files: true # .nojekyll: serve the files as they are

  deploy:
    name: Publish the site
    needs: build
    runs-on: ubuntu-latest
    permissions:
      pages: write # publish the built site
      id-token: write # prove to GitHub Pages that this run is the one publishing
    environment:
      name: github-pages
      url: ${{ steps.deployment.outputs.page_url }}
    steps:
      - name: Publish
        id: deployment
        uses: actions/deploy-pages@cd2ce8fcbc39b97be8ca5fce6e763baed58fa128 # v5.0.0
"""
