"""Preview-server faults beyond tests/test_serve.py, in a real `sitegen serve` process:
1,000 concurrent requests while a rebuild rewrites every page, a listing deleted during a
rebuild, 50 saves a second for 2 s, a template error at render time, Ctrl-C (twice) during
a rebuild, leftovers of a killed build, and traversal in more encodings."""

from __future__ import annotations

import re
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from hostile.harness import LISTINGS, build, make_site, snapshot
from conftest import copy_seed_source
from serve_process import ServeProcess, strip_livereload, wait_until

pytestmark = pytest.mark.slow

ABSTRACT = ("We study a problem that matters for efficient inference. Our method improves throughput "
            "by a wide margin on standard benchmarks, and we release code at https://github.com/x/y.")
N_PAPERS = 1200
"""Papers in the site whose rebuild must take long enough to do things during it."""


def _compact(numbers, prefix: str = "Served paper") -> str:
    lines = ["Get trending papers in your email inbox!"]
    for i in numbers:
        lines += [f"{prefix} number {i} on fast kernels", f"Abstract {i}. {ABSTRACT}"]
    return "\n".join(lines) + "\n"


def _small_site(root: Path) -> Path:
    """A few papers: rebuilds in a fraction of a second."""
    return make_site(root, {"small.txt": _compact(range(5), "Small listing paper")})


def _quiet(server: ServeProcess, seconds: float = 1.5, timeout: float = 90) -> str:
    """Wait until no build has started or ended for `seconds`; return the last outcome line."""
    def settled():
        count = len(server.stderr)
        time.sleep(seconds)
        return len(server.stderr) == count and re.match(r"\S+ (built in|still serving)", server.stderr[-1])
    wait_until(settled, timeout, f"the server to settle\n{server.output()[-2000:]}")
    return server.outcome()


def _building(server: ServeProcess, after: int) -> None:
    """Wait until a build after the first `after` stderr lines has started."""
    wait_until(lambda: any(" building" in line for line in server.stderr[after:]), 30,
               f"a rebuild to start\n{server.output()[-2000:]}")


def _served_tree(out: Path) -> dict[str, bytes]:
    return snapshot(out, exclude=("pagefind",))


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """A server for a site whose rebuild takes seconds, with its output in a known place."""
    root = tmp_path_factory.mktemp("serve-big")
    site = make_site(root / "site", {"big.txt": _compact(range(N_PAPERS)),
                                     "small.txt": _compact(range(3), "Small listing paper")},
                     'title = "Before"\n')
    server = ServeProcess(site, "--out", str(root / "out")).started(timeout=180)
    server.root, server.out = root, root / "out"
    yield server
    assert server.stop() == 0
    assert "Traceback" not in server.output()


def test_1000_concurrent_requests_during_a_rebuild_get_whole_old_or_new_files(big):
    paths = ["", "papers/", "papers.json", "static/style.css", "listings/listing-small/", "404.html"] + [
        f"papers/served-paper-number-{i}-on-fast-kernels/" for i in range(0, N_PAPERS, 50)]
    old = {path: big.get(path) for path in paths}
    lines = len(big.stderr)
    (big.site / "sitegen.toml").write_text('title = "After"\n')  # every page changes
    _building(big, lines)
    wait_until(lambda: (big.out / ".sitegen-tmp").exists(), 60, "the rebuild to start writing")
    requests = (paths * (1000 // len(paths) + 1))[:1000]
    barrier = threading.Barrier(len(requests))

    def fetch(path: str) -> tuple[str, int, bytes]:
        barrier.wait()
        status, _, body = big.request(big.base_path + path)
        return path, status, body

    with ThreadPoolExecutor(len(requests)) as pool:
        results = list(pool.map(fetch, requests))
    assert "built in" in _quiet(big)
    new = {path: big.get(path) for path in paths}
    assert [status for _, status, _ in results] == [200] * len(requests)
    bodies = [(strip_livereload(body), strip_livereload(old[path]), strip_livereload(new[path]))
              for path, _, body in results]
    assert [i for i, (body, was, now) in enumerate(bodies) if body not in (was, now)] == [], \
        "pages served half-written"
    print(f"during the write: {sum(b == w != n for b, w, n in bodies)} old, "
          f"{sum(b == n != w for b, w, n in bodies)} new")
    assert "Traceback" not in big.output()


def test_a_listing_deleted_during_a_rebuild(big, tmp_path):
    lines = len(big.stderr)
    listing = big.site / LISTINGS / "big.txt"
    listing.write_text(listing.read_text().replace("number 7 on", "number seven on"))
    _building(big, lines)
    (big.site / LISTINGS / "small.txt").unlink()  # while the rebuild reads, renders or writes
    outcome = _quiet(big)
    assert "built in" in outcome, big.output()[-3000:]
    assert big.state()["error"] is None
    assert b"Small listing paper" not in big.get("papers.json")
    assert big.request(big.base_path + "listings/listing-small/")[0] == 404
    result = build(big.site, tmp_path / "clean", "-q", "--no-search")
    assert result.returncode == 0, result.stderr
    assert _served_tree(big.out) == _served_tree(tmp_path / "clean"), "the output is exactly a clean build"
    assert "Traceback" not in big.output()


def test_a_save_while_the_rebuild_catches_up_is_built_at_once(big, tmp_path):
    """A rebuild writes the pages, then catches up (related papers, data files, search index): a
    save meanwhile stops that and is built at once; the output still ends as a clean build's."""
    lines = len(big.stderr)
    listing = big.site / LISTINGS / "big.txt"
    listing.write_text(listing.read_text().replace("number 11 on", "number eleven on"))
    wait_until(lambda: any("pages written" in line for line in big.stderr[lines:]), 60,
               f"the pages of the first save\n{big.output()[-2000:]}")
    listing.write_text(listing.read_text().replace("number 12 on", "number twelve on"))
    assert "built in" in _quiet(big), big.output()[-3000:]
    log = "\n".join(big.stderr[lines:])
    assert "stopped after" in log and "files changed, building again" in log, log
    assert big.state()["error"] is None
    result = build(big.site, tmp_path / "clean", "-q", "--no-search")
    assert result.returncode == 0, result.stderr
    assert _served_tree(big.out) == _served_tree(tmp_path / "clean"), "the output is exactly a clean build"
    assert b"number twelve on" in big.get("papers.json")
    assert "Traceback" not in big.output()


def test_50_saves_a_second_for_2_seconds(tmp_path):
    site = _small_site(tmp_path / "site")
    listing = site / LISTINGS / "small.txt"
    original = listing.read_text("utf-8")
    title = "Small listing paper number 3 on fast kernels"
    server = ServeProcess(site).started()
    try:
        builds, lines = server.builds(), len(server.stderr)
        statuses = []
        started = time.monotonic()
        for i in range(100):
            listing.write_text(original.replace(title, f"Small listing paper save {i}"), "utf-8")
            if i % 10 == 0:
                statuses.append(server.request(server.base_path)[0])
            time.sleep(max(0.0, started + (i + 1) * 0.02 - time.monotonic()))
        during = sum(1 for line in server.stderr[lines:] if re.match(r"\S+ building", line))
        assert "built in" in _quiet(server)
        total = server.builds() - builds
        assert statuses == [200] * len(statuses), "the server answers during the stream"
        assert during >= 1, "a stream of saves cannot starve the rebuild: one starts within it"
        assert total <= 15, f"{total} builds for 100 saves: not debounced"
        assert b"Small listing paper save 99" in server.get("papers.json"), "the last save is what is served"
        assert "Traceback" not in server.output() and "internal error" not in server.output()
    finally:
        assert server.stop() == 0


def test_a_template_error_at_render_time_is_shown_and_fixed(tmp_path):
    """A runtime error (undefined variable) in a template the site overrides, not a syntax error."""
    site = _small_site(tmp_path / "site")
    server = ServeProcess(site).started()
    try:
        good = strip_livereload(server.get())
        builds = server.builds()
        (site / "templates").mkdir()
        (site / "templates" / "404.html").write_text(
            "{% extends 'base.html' %}\n{% block main %}\n<p>{{ missing_variable.attribute }}</p>\n"
            "{% endblock %}\n", "utf-8")
        server.wait_for_build(builds)
        wait_until(lambda: "error: templates/404.html:3: template error" in server.outcome(), 20,
                   f"the template error\n{server.output()}")
        state = server.state()
        assert state["error"]["where"] == "templates/404.html:3"
        assert "missing_variable" in state["error"]["message"]
        assert strip_livereload(server.get()) == good, "the last good site is still served"
        builds = server.builds()
        (site / "templates" / "404.html").unlink()
        assert "built in" in server.wait_for_build(builds)
        assert server.state()["error"] is None
        assert "Traceback" not in server.output()
    finally:
        assert server.stop() == 0


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_during_a_rebuild_exits_cleanly_and_removes_the_temporary_output(tmp_path, presses):
    site = make_site(tmp_path / "site", {"big.txt": _compact(range(400))})
    server = ServeProcess(site).started(timeout=180)
    lines = len(server.stderr)
    (site / "sitegen.toml").write_text('title = "Changed"\n')
    _building(server, lines)
    time.sleep(0.2)
    for _ in range(presses):  # an impatient user presses Ctrl-C again while it stops
        server.process.send_signal(signal.SIGINT)
        time.sleep(0.2)
    server.process.wait(timeout=120)
    assert server.stop() == 0, server.output()
    assert "Traceback" not in server.output(), server.output()
    assert not server.out_dir.exists(), "the temporary output directory is left behind"


def test_leftovers_of_a_killed_build_are_not_served(tmp_path):
    """`sitegen build` killed mid-write leaves .sitegen-tmp/ in the output; `sitegen serve --out`
    on it, with a first build that fails, serves the old site but never the leftovers."""
    site = _small_site(tmp_path / "site")
    out = tmp_path / "out"
    assert build(site, out, "-q", "--no-search").returncode == 0
    (out / ".sitegen-tmp").mkdir()
    (out / ".sitegen-tmp" / "0").write_text("<p>half a page")
    (out / ".pagefind.sitegen-old").mkdir()
    (out / ".pagefind.sitegen-old" / "x.js").write_text("old index")
    (site / LISTINGS / "bad.txt").write_bytes(b"\xff not UTF-8")
    server = ServeProcess(site, "--out", str(out)).started()
    try:
        assert server.state()["error"]["where"] == f"{LISTINGS}/bad.txt:1"
        assert server.get()  # the old site is served
        for path in (".sitegen-tmp/0", ".sitegen-tmp/", ".pagefind.sitegen-old/x.js", ".sitegen-manifest",
                     "%2esitegen-tmp/0", "papers/../.sitegen-tmp/0"):
            status, _, body = server.request(server.base_path + path)
            assert 400 <= status < 500 and b"half a page" not in body and b"old index" not in body, path
        builds = server.builds()
        (site / LISTINGS / "bad.txt").unlink()
        assert "built in" in server.wait_for_build(builds)
        assert not (out / ".sitegen-tmp").exists() and not (out / ".pagefind.sitegen-old").exists()
    finally:
        assert server.stop() == 0


SECRET = "SERVE-FAULTS-SECRET-91c2"


@pytest.fixture(scope="module")
def exposed(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve-exposed")
    (root / "secret.txt").write_text(SECRET)
    server = ServeProcess(copy_seed_source(root / "site"), "--out", str(root / "out")).started()
    server.secret = root / "secret.txt"
    yield server
    assert server.stop() == 0


@pytest.mark.parametrize("path", [
    "/%252e%252e/secret.txt",            # double-encoded dots
    "/%c0%ae%c0%ae/secret.txt",          # overlong UTF-8 dots
    "/%e0%80%ae%e0%80%ae/secret.txt",    # three-byte overlong dots
    "/%ef%bc%8e%ef%bc%8e/secret.txt",    # fullwidth dots (NFKC folds them to '..')
    "/..%c0%afsecret.txt",               # overlong slash
    "/..%e2%88%95secret.txt",            # division slash
    "/..;/secret.txt",                   # Tomcat-style path parameter
    "/%2E%2E/%2E%2E/secret.txt",         # upper-case escapes
    "/%u002e%u002e/secret.txt",          # IIS %u escapes
    "/static/..%2f..%2fsecret.txt",
    "/./../secret.txt", "//../secret.txt", "/.../secret.txt",
    "/%2e%2e%00/secret.txt",
])
def test_traversal_in_more_encodings(exposed, path):
    status, _, body = exposed.request(path)
    assert 400 <= status < 500, (path, status)
    assert SECRET.encode() not in body
    assert exposed.process.poll() is None and "Traceback" not in exposed.output()
