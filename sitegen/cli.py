"""Command line: `sitegen build | serve | check | resolve | init`; each command calls one function."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from pathlib import Path

from . import __version__
from .build import BuildCache, BuildResult, build
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
    except KeyboardInterrupt as interrupt:
        terminated = isinstance(interrupt, Terminated)
        print(f"\n{'terminated' if terminated else 'interrupted'}; the output directory was left as it "
              "was before this step", file=sys.stderr)
        return 143 if terminated else 130


class Terminated(KeyboardInterrupt):
    """SIGTERM, which stops a build as Ctrl-C does (exit status 128 + 15)."""


def _stop_on_sigterm() -> None:
    """Make SIGTERM raise `Terminated` in the main thread, the only one that gets signals."""
    def terminate(signum, frame):
        raise Terminated
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, terminate)


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
    build_cmd.add_argument("-v", "--verbose", action="store_true",
                           help="also list the rules that tag no paper and the papers without a topic")
    build_cmd.set_defaults(run=run_build)

    serve_cmd = commands.add_parser(
        "serve", help="preview the site: build, serve, rebuild and reload the browser on every save",
        description="Build the site, serve it on this machine, and rebuild it and reload the browser "
                    "whenever content/, templates/, static/ or sitegen.toml change.")
    _add_site_options(serve_cmd, out_default="a temporary directory, removed on exit")
    serve_cmd.add_argument("--host", default="127.0.0.1",
                           help="address to listen on (default: 127.0.0.1, this machine only)")
    serve_cmd.add_argument("--port", type=_port, default=8000,
                           help="port to listen on; 0 picks a free one (default: 8000)")
    serve_cmd.add_argument("--open", action="store_true", help="open the site in the web browser")
    serve_cmd.add_argument("--poll", action="store_true",
                           help="scan for changes instead of relying on file system events "
                                "(for network drives, containers and editors that are not noticed)")
    serve_cmd.set_defaults(run=run_serve)

    check_cmd = commands.add_parser(
        "check", help="build the site and check that every link, asset and feed resolves",
        description="Build the site into a temporary directory (or check the build already in --out) "
                    "and verify every internal link and asset, the form of every external link, and "
                    "that feed.xml and sitemap.xml parse. Exits 1 and lists the problems if any.")
    _add_site_options(check_cmd, out_default="a temporary directory; an existing build there is "
                                             "checked as it is")
    check_cmd.set_defaults(run=run_check)

    resolve_cmd = commands.add_parser(
        "resolve", help="look papers up on arXiv by title; record ids, authors and dates in content/metadata.toml",
        description="Look up on arXiv, by title, each paper that has no arXiv id in content/metadata.toml "
                    "or in its listing, and record what is found there (the build never uses the network). "
                    "Only exact title matches are taken; near matches are recorded as ambiguous with their "
                    "candidates. The file is saved after every query: an interrupted run loses nothing, "
                    "and the next run goes on.")
    resolve_cmd.add_argument("--source", type=Path, default=Path("."), metavar="DIR",
                             help="the site's root, holding sitegen.toml and content/ (default: .)")
    resolve_cmd.add_argument("--limit", type=_count, metavar="N", help="look up at most N papers in this run")
    resolve_cmd.add_argument("--retry-not-found", dest="retry", action="store_true",
                             help="look up again the papers recorded as not found or ambiguous")
    resolve_cmd.add_argument("--api", metavar="URL",
                             help="the arXiv API's query URL (default: $SITEGEN_ARXIV_API, else "
                                  "https://export.arxiv.org/api/query)")
    resolve_cmd.add_argument("--interval", type=float, default=3.0, metavar="SECONDS",
                             help="seconds between requests (default: 3, what arXiv asks for; less only "
                                  "for another server)")
    resolve_cmd.set_defaults(run=run_resolve)

    init_cmd = commands.add_parser(
        "init", help="create a new site: settings, an example listing, a page, a GitHub Pages workflow",
        description="Create a new site in DIR that builds, checks and deploys as it is. "
                    "DIR must be empty or not exist yet.")
    init_cmd.add_argument("directory", type=Path, metavar="DIR", help="where to create the site")
    init_cmd.add_argument("--title", help="the site's title (default: from the directory name)")
    init_cmd.add_argument("--requirement", metavar="SPEC",
                          help="how the site's CI installs sitegen, as a pip requirement, e.g. "
                               "'sitegen @ git+https://github.com/you/sitegen@v0.1.0' "
                               "(default: where this sitegen was installed from, when known)")
    init_cmd.set_defaults(run=run_init)
    return parser


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number; use one up to 65535, e.g. 8000 "
                                         "(0 picks a free one)")
    return int(text)


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of papers; use e.g. 20")
    return int(text)


def _add_site_options(command: argparse.ArgumentParser, out_default: str = "site/ under the source") -> None:
    command.add_argument("--source", type=Path, default=Path("."), metavar="DIR",
                         help="the site's root, holding sitegen.toml and content/ (default: .)")
    command.add_argument("--out", type=Path, metavar="DIR",
                         help=f"output directory (default: {out_default})")
    command.add_argument("--base-url", metavar="URL",
                         help=f"absolute URL the site is served at, e.g. {BASE_URL_EXAMPLE} "
                              "(default: base_url in sitegen.toml, else served at /)")


def run_build(args: argparse.Namespace) -> int:
    _stop_on_sigterm()  # the build's `finally`s stop its workers and Pagefind, and remove what it staged
    config = load_config(args.source, args.base_url)
    out_dir = args.out if args.out is not None else args.source / "site"
    started = time.perf_counter()

    def progress(stage: str, seconds: float) -> None:
        if not args.quiet:
            print(f"  {stage:<12} {seconds:6.2f} s", file=sys.stderr, flush=True)

    result = build(config, out_dir, search=args.search, strict=args.strict, force=args.force,
                   on_stage=progress)
    total = time.perf_counter() - started
    print_warnings(result)
    if args.verbose:
        for item in (*result.unmatched, *result.untagged):
            print(f"note: {item}", file=sys.stderr)
    if not args.quiet:
        print(summary(result, out_dir, total))
    if args.timings:
        write_timings(args.timings, result, total)
    return 0


def run_serve(args: argparse.Namespace) -> int:
    import contextlib
    import tempfile

    from . import preview_build
    from .config import CONFIG_FILE
    from .output import check_output_dir
    from .theme import default_theme_dir
    from .serve import ServeError, serve

    source = args.source
    config = load_config(source, args.base_url)
    base_path = config.base_path

    cache = BuildCache()  # what each rebuild can reuse from the last one

    def rebuild(pages_written, superseded, viewed) -> None:
        config = load_config(source, args.base_url)
        if config.base_path != base_path:
            raise BuildError(CONFIG_FILE, 0, f"the base URL now puts the site under {config.base_path}, but "
                             f"this server serves it under {base_path}; restart sitegen serve")
        print_warnings(preview_build.rebuild(config, out_dir, cache, viewed=viewed, on_write=pages_written,
                                             superseded=superseded))

    theme = default_theme_dir()  # watched too, for whoever edits the default theme in a checkout
    watch = [source / "content", source / "templates", source / "static", source / CONFIG_FILE,
             theme / "templates", theme / "static"]
    with (tempfile.TemporaryDirectory(prefix="sitegen-serve-") if args.out is None
          else contextlib.nullcontext(args.out)) as out:
        out_dir = Path(out)
        check_output_dir(out_dir, source)
        try:
            serve(rebuild, out_dir, watch=watch, base_path=base_path, host=args.host, port=args.port,
                  poll=args.poll, open_browser=args.open)
        except ServeError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    return 0


def run_check(args: argparse.Namespace) -> int:
    from .check import check

    config = load_config(args.source, args.base_url)
    report, result = check(config, args.out)
    if result is not None:
        print_warnings(result)
    for problem in report.problems:
        print(problem)
    print(report.summary())
    return 1 if report.problems else 0


def run_resolve(args: argparse.Namespace) -> int:
    import datetime
    import os

    from .metadata import METADATA_FILE
    from .resolve import API_ENV, ARXIV_API, ArxivClient, Unreachable, check_interval, resolve, summary

    api = args.api or os.environ.get(API_ENV) or ARXIV_API
    check_interval(api, args.interval)
    config = load_config(args.source)
    say = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    client = ArxivClient(api=api, interval=args.interval, on_wait=lambda message: say("  " + message))
    try:
        outcome = resolve(config, client, limit=args.limit, retry=args.retry, today=datetime.date.today(),
                          progress=say)
    except Unreachable as error:
        say(f"error: {error}; no network? {METADATA_FILE} was left as it was.")
        return 1
    except KeyboardInterrupt:
        say(f"\ninterrupted; what was found so far is saved in {METADATA_FILE}; run `sitegen resolve` again "
            "to go on")
        return 130
    print(summary(outcome))
    return 1 if outcome.stopped else 0


def run_init(args: argparse.Namespace) -> int:
    from .scaffold import scaffold

    from .scaffold import REQUIREMENTS_FILE, placeholder_warnings

    created = scaffold(args.directory, title=args.title, requirement=args.requirement)
    for note in created.notes:
        print(f"note: {note}", file=sys.stderr)
    placeholder = placeholder_warnings(args.directory)
    print(f"Created a site in {args.directory}/ ({len(created.files)} files). Next:\n"
          f"  cd {args.directory} && sitegen serve --open\n"
          + (f"Before you publish it: {REQUIREMENTS_FILE} names a placeholder; put where CI can install "
             f"sitegen from in {args.directory}/{REQUIREMENTS_FILE} (see the note above).\n" if placeholder else "")
          + f"Publishing on GitHub Pages: see {args.directory}/README.md.")
    return 0


def print_warnings(result: BuildResult) -> None:
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)


def summary(result: BuildResult, out_dir: Path, total: float) -> str:
    lines = [*(f"note: {note}" for note in result.notes),
             f"Built {result.papers} papers into {out_dir}/ in {total:.2f} s: {result.pages} pages, "
             f"{result.files} files ({len(result.written)} written, {result.unchanged} unchanged, "
             f"{len(result.removed)} removed), {result.search + ', ' if result.search else ''}"
             f"{len(result.warnings)} warning"
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
