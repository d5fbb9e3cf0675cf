"""The same papers as a minimal Hugo site, and the timing of Hugo + Pagefind over it.

`write_site` reads a sitegen site source with sitegen's own parser and merge and writes one
Hugo content page per paper (front matter: title, date, topics and hardware taxonomies,
upvotes, authors or organisation) with a small theme that renders a paper page comparable to
sitegen's: title, metadata, abstract with live links, topic and hardware terms (and, with
`related=True`, five related papers via Hugo's `.Related`); term, taxonomy, section and home
pages; `data-pagefind-body` on paper pages only, with Pagefind filters (topic, hardware,
year) and sorts (date, upvotes). The terms come from sitegen's own rules when
`sitegen.taxonomy` and the site's `content/rules.toml` exist, else from a keyword pass.

`time_hugo` and `time_pagefind` run `hugo --quiet` and `python -m pagefind --site public`
as subprocesses and measure each one's wall time and peak RSS (`os.wait4` gives the
resource usage of that one process tree, not a running maximum over all children).

    python -m bench.hugo SRC DEST [--runs 3]     # SRC: a site source, e.g. from bench.generate
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sitegen.config import load_config
from sitegen.listings import read_listings
from sitegen.papers import Paper, merge

TOPIC_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Large language models", (r"llms?\b", r"language models?")),
    ("Gaussian splatting", (r"gaussian splatting", r"3dgs\b", r"gaussians\b")),
    ("Neural radiance fields", (r"nerfs?\b", r"radiance fields?")),
    ("Diffusion models", (r"diffusion\b",)),
    ("Video", (r"videos?\b",)),
    ("Quantization", (r"quantiz", r"fp4\b", r"fp8\b", r"int[48]\b", r"low-precision")),
    ("Reinforcement learning", (r"reinforcement learning", r"rl\b")),
    ("GPU kernels", (r"cuda\b", r"kernels?\b", r"triton\b")),
    ("Inference serving", (r"inference\b", r"serving\b", r"latency\b")),
    ("Distributed training", (r"distributed\b", r"parallelism\b", r"multi-gpu\b", r"clusters?\b")),
    ("Mixture of experts", (r"mixture[- ]of[- ]experts", r"moe\b")),
    ("Vision transformers", (r"vision transformers?", r"vits?\b")),
    ("Mobile and edge", (r"mobile\b", r"on-device\b", r"edge devices?", r"smartphones?\b")),
    ("Compression", (r"compression\b", r"pruning\b", r"distillation\b", r"sparsity\b")),
    ("Benchmarks", (r"benchmark",)),
)
"""Topic name and patterns matched at a word start in the lower-cased title + abstract."""

HARDWARE_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("H100", (r"H100s?\b",)), ("H200", (r"H200\b",)), ("H20", (r"H20\b",)), ("A100", (r"A100s?\b",)),
    ("V100", (r"V100s?\b",)), ("L40", (r"L40S?\b",)), ("L4", (r"L4\b",)), ("A6000", (r"A6000\b",)),
    ("RTX 5090", (r"RTX ?5090",)), ("RTX 4090", (r"RTX ?4090",)), ("RTX 3090", (r"RTX ?3090",)),
    ("RTX 2080", (r"RTX ?2080",)), ("Jetson", (r"Jetson\b",)), ("TPU", (r"TPUs?\b",)),
    ("FPGA", (r"FPGAs?\b",)), ("iPhone", (r"iPhone",)), ("Snapdragon", (r"Snapdragon",)),
    ("Apple silicon", (r"M[1-4] (?:Pro|Max|Ultra)\b", r"Apple M[1-4]")), ("WebGPU", (r"WebGPU",)),
    ("NVMe SSD", (r"SSDs?\b", r"NVMe")), ("AMD Instinct", (r"MI[123]\d0X?\b",)), ("Ascend", (r"Ascend\b",)),
)
"""Hardware term and its patterns, matched at a word start (case kept); a simple keyword
pass standing in for sitegen's classification, which the Hugo site cannot run."""


def _compile(rules: tuple[tuple[str, tuple[str, ...]], ...]) -> list[tuple[str, list[re.Pattern]]]:
    # Patterns start with a literal, not `\b`: re then scans for the literal, which is ~10x faster;
    # the word start is checked by hand in `_has`.
    return [(name, [re.compile(p) for p in patterns]) for name, patterns in rules]


_TOPICS = _compile(TOPIC_RULES)
_HARDWARE = _compile(HARDWARE_RULES)

RELATED = """\
{{ with first 5 (.Site.RegularPages.Related .) }}<aside><h2>Related papers</h2><ul>
{{ range . }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a></li>{{ end }}
</ul></aside>{{ end }}"""
"""Five related papers by shared terms; optional: Hugo's `.Related` makes each page cost O(N)."""

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>#!|~&{}()])")

CONFIG = """\
baseURL = "/"
title = {title}
languageCode = "en"
disableHugoGeneratorInject = true
enableRobotsTXT = true

[taxonomies]
topic = "topics"
hardware = "hardware"

[outputs]
home = ["html", "rss"]
section = ["html"]
taxonomy = ["html"]
term = ["html"]

[services.rss]
limit = 50

[related]
threshold = 80
includeNewer = true
toLower = false
[[related.indices]]
name = "topics"
weight = 100
[[related.indices]]
name = "hardware"
weight = 80
"""

LAYOUTS = {
    "_default/baseof.html": """\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ if .IsHome }}{{ .Site.Title }}{{ else }}{{ .Title }} · {{ .Site.Title }}{{ end }}</title>
<link rel="stylesheet" href="{{ "style.css" | relURL }}">
</head>
<body>
<header><a href="{{ "" | relURL }}">{{ .Site.Title }}</a>
<nav><a href="{{ "topics/" | relURL }}">Topics</a> <a href="{{ "hardware/" | relURL }}">Hardware</a>
<a href="{{ "search/" | relURL }}">Search</a></nav></header>
<main>{{ block "main" . }}{{ end }}</main>
</body>
</html>
""",
    "_default/single.html": """\
{{ define "main" }}
<article data-pagefind-body>
<h1>{{ .Title }}</h1>
<p class="meta">
{{- with .Params.organization }}<span>{{ . }}</span>{{ else }}{{ with .Params.authors }}<span>{{ . }} authors</span>{{ end }}{{ end }}
{{- if not .Date.IsZero }} · <time datetime="{{ .Date.Format "2006-01-02" }}" data-pagefind-sort="date:{{ .Date.Format "2006-01-02" }}">{{ .Date.Format "Jan 2, 2006" }}</time>
<span hidden data-pagefind-filter="year">{{ .Date.Year }}</span>{{ end }}
{{- with .Params.upvotes }} · <span data-pagefind-sort="upvotes">{{ . }}</span> upvotes{{ end }}</p>
<div class="abstract">{{ .Content }}</div>
{{ with .GetTerms "topics" }}<p class="terms">Topics:
{{ range . }}<a href="{{ .RelPermalink }}" data-pagefind-filter="topic">{{ .LinkTitle }}</a> {{ end }}</p>{{ end }}
{{ with .GetTerms "hardware" }}<p class="terms">Hardware:
{{ range . }}<a href="{{ .RelPermalink }}" data-pagefind-filter="hardware">{{ .LinkTitle }}</a> {{ end }}</p>{{ end }}
{{ with .Params.listings }}<p class="listings">In {{ delimit . ", " }}</p>{{ end }}
</article>
RELATED
{{ end }}
""",
    "_default/list.html": """\
{{ define "main" }}
<h1>{{ .Title }}</h1>
{{ .Content }}
<ul class="papers">
{{ range .Pages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a>{{ if not .Date.IsZero }} <time>{{ .Date.Format "Jan 2, 2006" }}</time>{{ end }}</li>
{{ end }}</ul>
{{ end }}
""",
    "_default/term.html": """\
{{ define "main" }}
<h1>{{ .Title }} <small>{{ len .Pages }} papers</small></h1>
<ul class="papers">
{{ range .Pages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a>{{ if not .Date.IsZero }} <time>{{ .Date.Format "Jan 2, 2006" }}</time>{{ end }}</li>
{{ end }}</ul>
{{ end }}
""",
    "_default/taxonomy.html": """\
{{ define "main" }}
<h1>{{ .Title }}</h1>
<ul class="terms">
{{ range .Data.Terms.ByCount }}<li><a href="{{ .Page.RelPermalink }}">{{ .Page.Title }}</a> ({{ .Count }})</li>
{{ end }}</ul>
{{ end }}
""",
    "index.html": """\
{{ define "main" }}
<h1>{{ .Site.Title }}</h1>
<h2>Newest papers</h2>
<ul class="papers">
{{ range first 50 (where .Site.RegularPages "Section" "papers") }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a>{{ if not .Date.IsZero }} <time>{{ .Date.Format "Jan 2, 2006" }}</time>{{ end }}</li>
{{ end }}</ul>
{{ end }}
""",
    "search/single.html": """\
{{ define "main" }}
<h1>Search</h1>
<link href="{{ "pagefind/pagefind-ui.css" | relURL }}" rel="stylesheet">
<script src="{{ "pagefind/pagefind-ui.js" | relURL }}"></script>
<div id="search"></div>
<script>window.addEventListener('DOMContentLoaded', () => {
  new PagefindUI({ element: "#search", showSubResults: false });
});</script>
{{ end }}
""",
    "404.html": """\
{{ define "main" }}<h1>Page not found</h1><p><a href="{{ "" | relURL }}">Home</a></p>{{ end }}
""",
}

STYLE = """\
body { font: 16px/1.5 system-ui, sans-serif; max-width: 48rem; margin: 0 auto; padding: 1rem; }
.meta, time, small { color: #555; }
.abstract a { word-break: break-all; }
"""


@dataclass(frozen=True)
class Measurement:
    """One run of one command."""

    seconds: float
    """Wall time from start to exit."""
    peak_rss_mb: float
    """Peak resident memory of the process tree (largest process), in MiB."""
    cpu_seconds: float
    """User + system CPU time of the process tree: steadier than wall time on a busy machine."""
    returncode: int
    output: str
    """Standard output and error, interleaved."""


def measure(command: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> Measurement:
    """Run `command`, wait for it with `os.wait4`, return its wall time and peak RSS."""
    with tempfile.TemporaryFile() as output:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        text = output.read().decode("utf-8", errors="replace")
    divisor = 1024 * 1024 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    cpu = usage.ru_utime + usage.ru_stime
    return Measurement(seconds, usage.ru_maxrss / divisor, cpu, process.returncode, text)


RULES_FILE = "content/rules.toml"
"""The site's topic and hardware rules, read by sitegen.taxonomy when it is there."""


def terms(papers: list[Paper], source: Path) -> tuple[list[tuple[list[str], list[str]]], str]:
    """Topic and hardware term names per paper, and which classifier gave them.

    sitegen's own rules (`sitegen.taxonomy`, `content/rules.toml`) when both exist, so
    both sites get the same terms; a hardware model also lists its architecture, vendor
    and class, as sitegen's hardware pages do. Otherwise the keyword pass above.
    """
    try:
        from sitegen.taxonomy import classify as classify_all, load_rules
    except ImportError:
        return [keyword_terms(p) for p in papers], "keyword pass (no sitegen.taxonomy)"
    taxonomy = load_rules(source / RULES_FILE, RULES_FILE)
    if not taxonomy.matchers:
        return [keyword_terms(p) for p in papers], f"keyword pass (no rules in {RULES_FILE})"
    result = classify_all(papers, taxonomy)
    classified, taxonomy = result.papers, result.taxonomy

    def name(slug: str) -> str:
        term = taxonomy.term(slug)
        return term.name if term else slug

    result = []
    for paper in classified:
        hardware: dict[str, None] = {}
        for mention in paper.hardware:
            hardware[name(mention.slug)] = None
            hardware.update((term.name, None) for term in taxonomy.ancestors(mention.slug))
        result.append(([name(slug) for slug in paper.topics], list(hardware)))
    return result, f"sitegen.taxonomy with {RULES_FILE}"


def keyword_terms(paper: Paper) -> tuple[list[str], list[str]]:
    """Topic and hardware terms of a paper, from the keyword rules above."""
    text = f"{paper.title}\n{paper.abstract or ''}"
    lower = text.lower()
    return ([name for name, patterns in _TOPICS if _has(patterns, lower)],
            [name for name, patterns in _HARDWARE if _has(patterns, text)])


def _has(patterns: list[re.Pattern], text: str) -> bool:
    """Whether a pattern matches `text` at the start of a word."""
    for pattern in patterns:
        for match in pattern.finditer(text):
            if match.start() == 0 or not text[match.start() - 1].isalnum():
                return True
    return False


def read_papers(source: Path) -> list[Paper]:
    """The merged papers of a sitegen site source."""
    config = load_config(source)
    years = {name: s.year for name, s in config.listings.items() if s.year is not None}
    papers, _ = merge(read_listings(config.listings_dir, source, years))
    return papers


def write_site(source: Path, dest: Path, related: bool = False) -> tuple[int, str]:
    """Write a Hugo site for the papers of the sitegen source `source`.

    Returns the number of papers and which classifier gave their terms.

    `related` adds five related papers to each paper page. It is off by default, as in the
    reference measurement (minimal paper pages, two taxonomies): it makes Hugo's page
    rendering quadratic in the number of papers (about 9 ms a page at 1,000 papers).
    """
    papers = read_papers(source)
    config = load_config(source)
    paper_terms, classifier = terms(papers, source)
    if dest.exists():
        shutil.rmtree(dest)
    papers_dir = dest / "content" / "papers"
    papers_dir.mkdir(parents=True)
    (dest / "config.toml").write_text(CONFIG.format(title=json.dumps(config.title)), encoding="utf-8")
    for name, text in LAYOUTS.items():
        path = dest / "layouts" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.replace("RELATED\n", RELATED + "\n" if related else ""), encoding="utf-8")
    (dest / "static").mkdir()
    (dest / "static" / "style.css").write_text(STYLE, encoding="utf-8")
    (dest / "content" / "_index.md").write_text(f"+++\ntitle = {json.dumps(config.title)}\n+++\n")
    (papers_dir / "_index.md").write_text('+++\ntitle = "Papers"\n+++\n')
    (dest / "content" / "search").mkdir()
    (dest / "content" / "search" / "index.md").write_text('+++\ntitle = "Search"\ntype = "search"\n+++\n')
    for paper, (topics, hardware) in zip(papers, paper_terms):
        (papers_dir / f"{paper.slug}.md").write_text(_page(paper, topics, hardware), encoding="utf-8")
    return len(papers), classifier


def _page(paper: Paper, topics: list[str], hardware: list[str]) -> str:
    front = [f"title = {_toml(paper.title)}"]
    if paper.published:
        front.append(f"date = {paper.published.isoformat()}")
    front.append(f"topics = [{', '.join(map(_toml, topics))}]")
    front.append(f"hardware = [{', '.join(map(_toml, hardware))}]")
    if paper.upvotes is not None:
        front.append(f"upvotes = {paper.upvotes}")
    if paper.authors_count is not None:
        front.append(f"authors = {paper.authors_count}")
    if paper.organization:
        front.append(f"organization = {_toml(paper.organization.name)}")
    front.append(f"listings = [{', '.join(map(_toml, paper.listings))}]")
    return "+++\n" + "\n".join(front) + "\n+++\n" + _markdown(paper) + "\n"


def _toml(text: str) -> str:
    """A TOML basic string (JSON's escapes are a subset of TOML's)."""
    return json.dumps(text, ensure_ascii=False)


def _markdown(paper: Paper) -> str:
    """The abstract as Markdown: text escaped, links (cleaned by sitegen) as real links."""
    if not paper.abstract:
        return ""
    text, parts, at = paper.abstract, [], 0
    for link in paper.links:
        parts.append(_escape(text[at:link.start]))
        parts.append(f"[{_escape(link.url)}](<{link.url}>)")
        at = link.end
    parts.append(_escape(text[at:]))
    return "".join(parts)


def _escape(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def hugo_command() -> str | None:
    """The `hugo` executable, or None when it is not installed."""
    return shutil.which("hugo")


def hugo_version() -> str:
    command = hugo_command()
    if not command:
        return "not installed"
    result = subprocess.run([command, "version"], capture_output=True, text=True, check=False)
    return result.stdout.strip().split(" BuildDate")[0]


def time_hugo(site: Path, destination: str = "public") -> Measurement:
    """A cold `hugo --quiet` build of `site` into `site/<destination>` (emptied first, if it exists)."""
    command = hugo_command()
    if command is None:
        raise RuntimeError("hugo is not installed (Debian: apt-get install hugo)")
    shutil.rmtree(site / destination, ignore_errors=True)
    shutil.rmtree(site / "resources", ignore_errors=True)
    result = measure([command, "--quiet", "--source", str(site), "--destination", destination], cwd=site)
    _check(result, "hugo")
    return result


def time_pagefind(public: Path) -> Measurement:
    """`python -m pagefind --site PUBLIC` over a built Hugo site (its last index removed first)."""
    shutil.rmtree(public / "pagefind", ignore_errors=True)
    result = measure([sys.executable, "-m", "pagefind", "--site", str(public)], cwd=public.parent)
    _check(result, "pagefind")
    return result


def _check(result: Measurement, what: str) -> None:
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed with exit code {result.returncode}:\n{result.output[-4000:]}")


def count_pages(public: Path) -> int:
    """HTML pages Hugo wrote (Pagefind's own files excluded)."""
    return sum(1 for p in public.rglob("*.html") if "pagefind" not in p.relative_to(public).parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hugo", description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="a sitegen site source (sitegen.toml, content/listings/)")
    parser.add_argument("dest", type=Path, help="directory for the Hugo site (replaced)")
    parser.add_argument("--runs", type=int, default=1, help="timed runs; medians are printed")
    parser.add_argument("--related", action="store_true",
                        help="add five related papers to each page (Hugo's .Related; slow)")
    args = parser.parse_args(argv)
    if hugo_command() is None:
        print("error: hugo is not installed (Debian: apt-get install hugo)", file=sys.stderr)
        return 2
    started = time.perf_counter()
    papers, classifier = write_site(args.source, args.dest, related=args.related)
    print(f"wrote {papers:,} paper pages as a Hugo site in {args.dest}, terms from {classifier} "
          f"({time.perf_counter() - started:.1f} s); {hugo_version()}")
    hugo_runs, pagefind_runs = [], []
    for run in range(1, args.runs + 1):
        hugo = time_hugo(args.dest, f"public-{run}")  # a new directory each run: see bench.run
        pagefind = time_pagefind(args.dest / f"public-{run}")
        hugo_runs.append(hugo)
        pagefind_runs.append(pagefind)
        print(f"run {run}: hugo {hugo.seconds:.2f} s (CPU {hugo.cpu_seconds:.2f} s), "
              f"{hugo.peak_rss_mb:.0f} MiB; pagefind {pagefind.seconds:.2f} s "
              f"(CPU {pagefind.cpu_seconds:.2f} s), {pagefind.peak_rss_mb:.0f} MiB; "
              f"{count_pages(args.dest / f'public-{run}'):,} HTML pages")
    median = statistics.median
    print(f"median of {args.runs}: hugo {median(m.seconds for m in hugo_runs):.2f} s "
          f"(peak {median(m.peak_rss_mb for m in hugo_runs):.0f} MiB), pagefind "
          f"{median(m.seconds for m in pagefind_runs):.2f} s "
          f"(peak {median(m.peak_rss_mb for m in pagefind_runs):.0f} MiB), together "
          f"{median(h.seconds + p.seconds for h, p in zip(hugo_runs, pagefind_runs)):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
