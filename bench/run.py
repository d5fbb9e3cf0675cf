"""Benchmark sitegen against Hugo + Pagefind on generated sites of several sizes.

For each size: generate N papers (bench.generate), then, `--runs` times each,
  * a full build: `sitegen build --source SRC --out OUT --timings FILE` into a new OUT;
  * a no-change rebuild: the same command again over that OUT;
  * a `--no-search` build into a new directory;
  * unless `--no-hugo`: the same papers as a Hugo site (bench.hugo), `hugo --quiet` into a
    new directory, then `python -m pagefind --site` over it.
Every command is a subprocess measured for wall time and peak RSS (os.wait4); the build's
own stage times and memory come from its `--timings` JSON. Medians are printed as a
Markdown table; `--json FILE` also saves every run.

Nothing is deleted until every size has run: on a file system that has just deleted many
files, creating files can cost many times more (ext4 without a journal, as on the CI
machines, skips inodes freed in the last minute or more one by one when it allocates new
ones), and whichever tool ran after a deletion would pay for it.

    python -m bench.run --sizes 1000 10000 50000 --runs 3 [--no-hugo] [--keep DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

STAGES = ("parse", "merge", "classify", "search-start", "relate", "render", "write", "search")
"""Stage names of the `--timings` contract, in pipeline order."""


@dataclass
class Build:
    """One sitegen build: measured from outside, plus what it reported about itself."""

    wall: float
    """Seconds from process start to exit (interpreter start-up and imports included)."""
    tree_rss_mb: float
    """Peak RSS of the largest process of the build's process tree (os.wait4)."""
    cpu: float
    """User + system CPU seconds of the build's process tree."""
    stages: dict[str, float] = field(default_factory=dict)
    total: float | None = None
    """The build's own total, from `--timings`."""
    pages: int | None = None
    peak_rss_mb: float | None = None
    """The sitegen process's own peak, from `--timings`."""
    search_peak_rss_mb: float | None = None
    """The search indexer's peak, from `--timings`."""


@dataclass
class SizeResult:
    """All runs for one size."""

    size: int
    full: list[Build] = field(default_factory=list)
    no_search: list[Build] = field(default_factory=list)
    rebuild: list[Build] = field(default_factory=list)
    hugo: list[dict] = field(default_factory=list)
    """Per run: seconds and peak RSS of Hugo and of Pagefind, and HTML pages written."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000], metavar="N",
                        help="numbers of papers (default: 1000 10000)")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement; medians are shown")
    parser.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    parser.add_argument("--no-hugo", action="store_true", help="skip the Hugo + Pagefind comparison")
    parser.add_argument("--hugo-related", action="store_true",
                        help="give Hugo's paper pages five related papers (.Related; quadratic)")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="keep sources and outputs under DIR/<size>/ instead of a temporary directory")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also save every run as JSON")
    args = parser.parse_args(argv)
    if args.runs < 1 or any(n < 1 for n in args.sizes):
        parser.error("--runs and --sizes must be positive")

    problem = _check_sitegen()
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    from bench import hugo  # imports sitegen

    use_hugo = not args.no_hugo
    if use_hugo and hugo.hugo_command() is None:
        print("note: hugo is not installed (Debian: apt-get install hugo); "
              "running without the Hugo + Pagefind comparison", file=sys.stderr)
        use_hugo = False
    if args.keep and args.keep.exists() and any(args.keep.iterdir()):
        print(f"error: --keep {args.keep} is not empty; give a new or empty directory", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="sitegen-bench-") as tmp:
        results = []
        for size in args.sizes:
            root = (args.keep or Path(tmp)) / str(size)
            root.mkdir(parents=True)
            results.append(run_size(size, root, args, use_hugo))
        report(results, args, use_hugo)
        if not args.keep:
            _log(f"removing {tmp} (the runs' sources and outputs)")
    return 0


def report(results: list[SizeResult], args: argparse.Namespace, use_hugo: bool) -> None:
    """Print the table of medians; with `--json`, save every run too."""
    machine = describe_machine(use_hugo)
    print()
    print(f"{args.runs} run(s) each, medians; {machine['cpus']} CPUs, {machine['python']}, "
          f"{machine['hugo']}, pagefind {machine['pagefind']}")
    print()
    print(table(results, use_hugo))
    if args.json:
        data = {"machine": machine, "seed": args.seed, "runs": args.runs,
                "hugo_related": args.hugo_related,
                "results": [{"size": r.size, "median": medians(r),
                             "full": [asdict(b) for b in r.full],
                             "no_search": [asdict(b) for b in r.no_search],
                             "rebuild": [asdict(b) for b in r.rebuild], "hugo": r.hugo}
                            for r in results]}
        args.json.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        print(f"\nsaved {args.json}", file=sys.stderr)


def _check_sitegen() -> str | None:
    """Why sitegen cannot be benchmarked, or None."""
    try:
        import sitegen  # noqa: F401
        import sitegen.cli  # noqa: F401
    except ImportError as error:
        return (f"sitegen is not importable ({error}); run from the repository root "
                "(python -m bench.run ...) or install it with `pip install -e .`")
    return None


def _env() -> dict[str, str]:
    """The environment for `python -m sitegen`: sitegen importable whatever the working directory."""
    import sitegen

    root = str(Path(sitegen.__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def run_size(size: int, root: Path, args: argparse.Namespace, use_hugo: bool) -> SizeResult:
    from bench import hugo
    from bench.generate import generate

    source = root / "source"
    _log(f"[{size:,}] generating {size:,} papers in {source}")
    generate(size, source, seed=args.seed)
    hugo_site = root / "hugo"
    if use_hugo:
        _log(f"[{size:,}] writing the Hugo site")
        _, classifier = hugo.write_site(source, hugo_site, related=args.hugo_related)
        _log(f"[{size:,}] Hugo site written; terms from {classifier}")
    result = SizeResult(size)
    for run in range(1, args.runs + 1):
        out = root / f"out-{run}"
        full = build(source, out, root / "timings-full.json")
        result.full.append(full)
        rebuild = build(source, out, root / "timings-rebuild.json")
        result.rebuild.append(rebuild)
        quick = build(source, root / f"out-no-search-{run}", root / "timings-no-search.json", "--no-search")
        result.no_search.append(quick)
        line = (f"[{size:,}] run {run}: full {full.wall:.2f} s (CPU {full.cpu:.2f} s, "
                f"{_mb(full.peak_rss_mb or full.tree_rss_mb)}), "
                f"rebuild {rebuild.wall:.2f} s, no-search {quick.wall:.2f} s")
        if use_hugo:
            h = hugo.time_hugo(hugo_site, f"public-{run}")
            p = hugo.time_pagefind(hugo_site / f"public-{run}")
            result.hugo.append({"hugo_s": h.seconds, "hugo_cpu_s": h.cpu_seconds, "hugo_rss_mb": h.peak_rss_mb,
                                "pagefind_s": p.seconds, "pagefind_cpu_s": p.cpu_seconds,
                                "pagefind_rss_mb": p.peak_rss_mb,
                                "pages": hugo.count_pages(hugo_site / f"public-{run}")})
            line += (f"; hugo {h.seconds:.2f} s (CPU {h.cpu_seconds:.2f} s, {_mb(h.peak_rss_mb)}), "
                     f"pagefind {p.seconds:.2f} s (CPU {p.cpu_seconds:.2f} s, {_mb(p.peak_rss_mb)})")
        _log(line)
    return result


def build(source: Path, out: Path, timings: Path, *extra: str) -> Build:
    """Run one `sitegen build` and read its timings file."""
    from bench.hugo import measure

    timings.unlink(missing_ok=True)
    command = [sys.executable, "-m", "sitegen", "build", "--source", str(source), "--out", str(out),
               "--quiet", "--timings", str(timings), *extra]
    measured = measure(command, env=_env())
    if measured.returncode != 0:
        raise SystemExit(f"error: `{' '.join(command)}` failed with exit code {measured.returncode}:\n"
                         f"{measured.output[-4000:]}")
    result = Build(measured.seconds, measured.peak_rss_mb, measured.cpu_seconds)
    if timings.is_file():
        data = json.loads(timings.read_text(encoding="utf-8"))
        result.stages = {name: float(seconds) for name, seconds in data.get("stages", {}).items()}
        result.total = data.get("total")
        result.pages = data.get("pages")
        result.peak_rss_mb = data.get("peak_rss_mb")
        result.search_peak_rss_mb = data.get("search_peak_rss_mb")
    return result


def medians(result: SizeResult) -> dict:
    """Median of every figure of one size, None where a figure is missing."""
    def med(values):
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else None

    full = result.full
    stage_names = [s for s in STAGES if any(s in b.stages for b in full)]
    stage_names += sorted({s for b in full for s in b.stages} - set(stage_names))
    m = {
        "stages": {s: med([b.stages.get(s) for b in full]) for s in stage_names},
        "total": med([b.total for b in full]),
        "wall": med([b.wall for b in full]),
        "cpu": med([b.cpu for b in full]),
        "sitegen_rss_mb": med([b.peak_rss_mb if b.peak_rss_mb is not None else b.tree_rss_mb for b in full]),
        "indexer_rss_mb": med([b.search_peak_rss_mb for b in full]),
        "pages": med([b.pages for b in full]),
        "no_search_wall": med([b.wall for b in result.no_search]),
        "rebuild_wall": med([b.wall for b in result.rebuild]),
        "hugo_s": med([h["hugo_s"] for h in result.hugo]),
        "pagefind_s": med([h["pagefind_s"] for h in result.hugo]),
        "hugo_pagefind_s": med([h["hugo_s"] + h["pagefind_s"] for h in result.hugo]),
        "hugo_pagefind_cpu_s": med([h["hugo_cpu_s"] + h["pagefind_cpu_s"] for h in result.hugo]),
        "hugo_rss_mb": med([h["hugo_rss_mb"] for h in result.hugo]),
        "pagefind_rss_mb": med([h["pagefind_rss_mb"] for h in result.hugo]),
        "hugo_pages": med([h["pages"] for h in result.hugo]),
    }
    m["ratio"] = m["wall"] / m["hugo_pagefind_s"] if m["hugo_pagefind_s"] else None
    m["cpu_ratio"] = m["cpu"] / m["hugo_pagefind_cpu_s"] if m["hugo_pagefind_cpu_s"] else None
    m["no_search_vs_hugo"] = m["no_search_wall"] / m["hugo_s"] if m["hugo_s"] else None
    return m


def table(results: list[SizeResult], use_hugo: bool) -> str:
    """The medians as one Markdown table, a row per size."""
    rows = [(r.size, medians(r)) for r in results]
    stage_names = list(dict.fromkeys(s for _, m in rows for s in m["stages"]))
    header = ["papers", *stage_names, "total", "wall", "sitegen RSS", "indexer RSS", "pages",
              "no-search", "rebuild"]
    if use_hugo:
        header += ["Hugo", "Pagefind", "Hugo+Pagefind", "Hugo RSS", "Pagefind RSS", "Hugo pages",
                   "sitegen / (Hugo+Pagefind)", "same, CPU time", "no-search / Hugo"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" for _ in header) + "|"]
    for size, m in rows:
        cells = [f"{size:,}", *(_s(m["stages"].get(s)) for s in stage_names), _s(m["total"]),
                 _s(m["wall"]), _mb(m["sitegen_rss_mb"]), _mb(m["indexer_rss_mb"]), _n(m["pages"]),
                 _s(m["no_search_wall"]), _s(m["rebuild_wall"])]
        if use_hugo:
            cells += [_s(m["hugo_s"]), _s(m["pagefind_s"]), _s(m["hugo_pagefind_s"]),
                      _mb(m["hugo_rss_mb"]), _mb(m["pagefind_rss_mb"]), _n(m["hugo_pages"]),
                      _x(m["ratio"]), _x(m["cpu_ratio"]), _x(m["no_search_vs_hugo"])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _s(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds:.2f} s"


def _mb(mb: float | None) -> str:
    return "n/a" if mb is None else f"{mb:,.0f} MiB"


def _n(count: float | None) -> str:
    return "n/a" if count is None else f"{count:,.0f}"


def _x(ratio: float | None) -> str:
    return "n/a" if ratio is None else f"{ratio:.2f}"


def describe_machine(use_hugo: bool) -> dict:
    from bench import hugo

    pagefind = subprocess.run([sys.executable, "-m", "pagefind", "--version"],
                              capture_output=True, text=True, check=False)
    return {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "python": f"Python {platform.python_version()}",
        "hugo": hugo.hugo_version() if use_hugo else "hugo not run",
        "pagefind": (pagefind.stdout.strip().split() or ["?"])[-1],
    }


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
