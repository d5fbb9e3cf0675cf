"""Command line: `sitegen build | serve | check | init`; each command calls one function."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from . import __version__
from .build import BuildResult, build
from .config import BASE_URL_EXAMPLE, load_config
from .diagnostics import BuildError


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return args.run(args)
    except BuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted; the output directory was left as it was before this step", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sitegen", description="Build a static website from research paper listings.")
    parser.add_argument("--version", action="version", version=f"sitegen {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command")

    build_cmd = commands.add_parser(
        "build", help="build the site into an output directory",
        description="Parse content/listings/, merge papers, and write the site.")
    _add_site_options(build_cmd)
    build_cmd.add_argument("--no-search", dest="search", action="store_false",
                           help="skip the search index (quicker local builds)")
    build_cmd.add_argument("--strict", action="store_true", help="treat warnings as errors (for CI)")
    build_cmd.add_argument("--force", action="store_true",
                           help="write into a non-empty directory that sitegen did not create")
    build_cmd.add_argument("--timings", type=Path, metavar="FILE",
                           help="also write stage timings and peak memory as JSON to FILE")
    build_cmd.add_argument("-q", "--quiet", action="store_true", help="print only warnings and errors")
    build_cmd.set_defaults(run=run_build)
    return parser


def _add_site_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--source", type=Path, default=Path("."), metavar="DIR",
                         help="the site's root, holding sitegen.toml and content/ (default: .)")
    command.add_argument("--out", type=Path, metavar="DIR",
                         help="output directory (default: site/ under the source)")
    command.add_argument("--base-url", metavar="URL",
                         help=f"absolute URL the site is served at, e.g. {BASE_URL_EXAMPLE} "
                              "(default: base_url in sitegen.toml, else served at /)")


def run_build(args: argparse.Namespace) -> int:
    config = load_config(args.source, args.base_url)
    out_dir = args.out if args.out is not None else args.source / "site"
    started = time.perf_counter()

    def progress(stage: str, seconds: float) -> None:
        if not args.quiet:
            print(f"  {stage:<9} {seconds:6.2f} s", file=sys.stderr, flush=True)

    result = build(config, out_dir, search=args.search, strict=args.strict, force=args.force,
                   on_stage=progress)
    total = time.perf_counter() - started
    print_warnings(result)
    if not args.quiet:
        print(summary(result, out_dir, total))
    if args.timings:
        write_timings(args.timings, result, total)
    return 0


def print_warnings(result: BuildResult) -> None:
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)


def summary(result: BuildResult, out_dir: Path, total: float) -> str:
    lines = [*(f"note: {note}" for note in result.notes),
             f"Built {result.papers} papers into {out_dir}/ in {total:.2f} s: {result.pages} pages, "
             f"{result.files} files ({len(result.written)} written, {result.unchanged} unchanged, "
             f"{len(result.removed)} removed), {len(result.warnings)} warning"
             f"{'' if len(result.warnings) == 1 else 's'}."]
    return "\n".join(lines)


def write_timings(path: Path, result: BuildResult, total: float) -> None:
    import resource

    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    data = {"stages": dict(result.timings), "total": total, "pages": result.pages,
            "files": result.files, "written": len(result.written),
            "peak_rss_mb": peak_kb / 1024, "search_peak_rss_mb": children_kb / 1024}
    path.write_text(json.dumps(data, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
