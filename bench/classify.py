"""Time classification alone: a generated site, and abstracts built to be hard.

    python -m bench.classify [--papers 10000] [--runs 3] [--sizes 40000 160000 640000]

1. Reads a generated site of `--papers` papers (`bench.generate`, seed 0) and classifies it
   with the default rules, from a cold start each run: loading the rules (and the GPU
   catalogue) is counted, as in a build. Prints the median.
2. Classifies one paper whose abstract is `"We ran it on GPUs. " + "H100 " * k` for abstracts
   of `--sizes` characters, and one whose abstract is a single sentence of that many
   characters of prose with a GPU every 40 words, and prints the time per size: linear code
   takes about four times as long for four times the text.

Run it in two checkouts to compare before and after; the papers are parsed the same way.
A benchmark, run by hand: the figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(code: str, runs: int) -> list[float]:
    """Seconds `code` takes in a fresh interpreter each run (so caches and imports start cold);
    `code` prints its own duration."""
    return [float(subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True,
                                 text=True).stdout.split()[-1]) for _ in range(runs)]


_SITE = """
import time
from pathlib import Path
from sitegen.listings import read_listings
from sitegen.papers import merge
from sitegen.taxonomy import classify, load_rules
root = Path({root!r})
papers, _ = merge(read_listings(root / "content/listings", root, {{}}))
start = time.perf_counter()
taxonomy = load_rules(Path("content/rules.toml"), "content/rules.toml")
classify(papers, taxonomy)
print(time.perf_counter() - start)
"""

_ONE = """
import time
from dataclasses import replace
from pathlib import Path
from sitegen.listings import read_listings
from sitegen.papers import merge
from sitegen.taxonomy import classify, load_rules
root = Path({root!r})
paper = merge(read_listings(root / "content/listings", root, {{}}))[0][0]
taxonomy = load_rules(Path("content/rules.toml"), "content/rules.toml")
paper = replace(paper, abstract=Path({abstract!r}).read_text("utf-8"))
start = time.perf_counter()
classify([paper], taxonomy)
print(time.perf_counter() - start)
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--papers", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="*", default=[40000, 160000, 640000])
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        subprocess.run([sys.executable, "-m", "bench.generate", str(args.papers), str(site)], cwd=ROOT, check=True,
                       capture_output=True)
        runs = timed(_SITE.format(root=str(site)), args.runs)
        print(f"classify {args.papers} papers (rules and catalogue loaded): median {statistics.median(runs):.2f} s "
              f"({', '.join(f'{r:.2f}' for r in runs)})")
        words = "we measure the latency of the kernel on a single node ".split()
        for size in args.sizes:
            repeated = "We ran it on GPUs. " + "H100 " * (size // 5)
            prose = " ".join(words[i % len(words)] if i % 40 else "A100" for i in range(size // 5))[:size]
            for name, abstract in (("H100 repeated", repeated), ("one long sentence", prose)):
                text = Path(tmp) / "abstract.txt"
                text.write_text(abstract, "utf-8")
                seconds = statistics.median(timed(_ONE.format(root=str(site), abstract=str(text)), 1))
                print(f"{name:>18} {len(abstract):>9,} characters: {seconds:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
