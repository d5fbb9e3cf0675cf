"""The preview server, in a real process on a free port, driven over HTTP with real file edits."""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import copy_seed_source, run_sitegen
from serve_process import REPO, ServeProcess, strip_livereload, wait_until
from sitegen.content import is_junk
from sitegen.diagnostics import BuildCancelled, BuildError, Diagnostic
from sitegen.serve.broadcast import HISTORY, Broadcast
from sitegen.serve.handler import SiteFiles, inject
from sitegen.serve.rebuilder import Rebuilder

LISTING = "content/listings/000_e0f5f16c55c27fa1.txt"
LISTING_PAGE = "listings/daily-papers-4-november-2025/"
TITLE = "HelpSteer2: Open-source dataset for training top-performing reward models"
NEW_TITLE = "HelpSteer9: A retitled dataset for reward models"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return copy_seed_source(tmp_path / "site")


@pytest.fixture
def server(site: Path):
    process = ServeProcess(site).started()
    yield process
    process.stop()


SECRET = "TOP-SECRET-CONTENTS-7f3a"


@pytest.fixture(scope="module")
def exposed(tmp_path_factory):
    """One server for the tests that only read: --out next to a secret file, and symlinks
    inside the output pointing at it."""
    root = tmp_path_factory.mktemp("exposed")
    (root / "secret.txt").write_text(SECRET)
    process = ServeProcess(copy_seed_source(root / "site"), "--out", str(root / "out")).started()
    (root / "out/static/leak.txt").symlink_to(root / "secret.txt")
    (root / "out/leakdir").symlink_to(root)
    process.secret = root / "secret.txt"
    yield process
    assert process.stop() == 0


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new), "utf-8")


@pytest.mark.slow
def test_listing_edit_is_served_after_rebuild(server: ServeProcess, site: Path):
    assert TITLE.encode() in server.get(LISTING_PAGE)
    before = server.state()
    assert before["error"] is None
    builds = server.builds()
    edit(site / LISTING, TITLE, NEW_TITLE)
    assert "built in" in server.wait_for_build(builds)
    page = server.get(LISTING_PAGE)
    assert NEW_TITLE.encode() in page and TITLE.encode() not in page
    assert server.state()["build"] != before["build"]


@pytest.mark.slow
def test_rename_on_save_counts_and_swap_files_do_not(server: ServeProcess, site: Path):
    listing = site / LISTING
    builds = server.builds()
    (listing.parent / f".{listing.name}.swp").write_bytes(b"\0vim swap")
    (listing.parent / f"{listing.name}~").write_text("backup")
    time.sleep(QUIET_ENOUGH)
    assert server.builds() == builds, server.output()
    temp = listing.with_name(listing.name + ".tmp-save")  # write a temp file, rename it over the original
    temp.write_text(listing.read_text("utf-8").replace(TITLE, NEW_TITLE), "utf-8")
    os.replace(temp, listing)
    server.wait_for_build(builds)
    wait_until(lambda: NEW_TITLE.encode() in server.get(LISTING_PAGE), message="the renamed-over listing")


QUIET_ENOUGH = 0.8
"""Seconds after which a rebuild would have started had a change been noticed."""


@pytest.mark.slow
@pytest.mark.parametrize("options", [(), ("--poll",)], ids=["events", "poll"])
def test_edits_are_noticed_in_a_replaced_directory(site: Path, options: tuple[str, ...]):
    server = ServeProcess(site, *options).started()
    try:
        builds = server.builds()
        edit(site / LISTING, TITLE, NEW_TITLE)
        assert "built in" in server.wait_for_build(builds)
        assert NEW_TITLE.encode() in server.get(LISTING_PAGE)
        builds = server.builds()
        os.rename(site / "content", site / "content-old")  # a checkout swapping the directory
        shutil.copytree(site / "content-old", site / "content")
        wait_until(lambda: server.builds() > builds and "built in" in server.outcome(),
                   message=server.output())
        builds = server.builds()
        edit(site / LISTING, NEW_TITLE, TITLE)  # in the new directory
        wait_until(lambda: TITLE.encode() in server.get(LISTING_PAGE), message=server.output())
    finally:
        server.stop()


@pytest.mark.slow
def test_served_output_equals_a_clean_build_after_add_change_delete(tmp_path: Path, site: Path):
    out = tmp_path / "out"
    server = ServeProcess(site, "--out", str(out)).started()
    try:
        listings = site / "content/listings"
        steps = [
            lambda: (listings / "010_added.txt").write_text(
                "Get trending papers in your email inbox!\nSubscribeAn Added Paper About FPGAs\n"
                "We ran it on an FPGA and an H100.\nAnother Added Paper\nIts abstract.\n", "utf-8"),
            lambda: edit(site / LISTING, TITLE, NEW_TITLE),
            lambda: (listings / "004_81cc37237c401a09.txt").unlink(),
            lambda: (site / "content/pages/about.md").unlink(),
        ]
        for step in steps:
            builds = server.builds()
            step()
            assert "built in" in server.wait_for_build(builds)
            clean = tmp_path / f"clean{builds}"
            built = run_sitegen("build", "--source", str(site), "--out", str(clean), "-q", cwd=REPO)
            assert built.returncode == 0, built.stderr
            assert_same_tree(out, clean)
        for rel, file in (("", "index.html"), (LISTING_PAGE, LISTING_PAGE + "index.html"),
                          ("papers.json", "papers.json")):
            assert strip_livereload(server.get(rel)) == (out / file).read_bytes()
        assert not (out / "about").exists() and not (out / "listings/trending-papers-gpus-rendering-and-efficient-models").exists()
        assert server.request("/about/")[0] == 404
        assert not any(b"__sitegen" in f.read_bytes() for f in out.rglob("*") if f.is_file()), \
            "the live-reload script must never be written into the built files"
    finally:
        assert server.stop() == 0
    assert out.is_dir(), "--out is the user's directory: it stays"


def assert_same_tree(served: Path, clean: Path) -> None:
    """Same files with the same bytes, Pagefind's index aside (its file names vary between runs)."""
    def files(root: Path) -> set[str]:
        return {p.relative_to(root).as_posix() for p in root.rglob("*")
                if p.is_file() and p.relative_to(root).parts[0] != "pagefind"}
    assert files(served) == files(clean)
    names = sorted(files(clean))
    _, mismatch, errors = filecmp.cmpfiles(served, clean, names, shallow=False)
    assert mismatch == [] and errors == []


@pytest.mark.slow
def test_template_error_keeps_serving_the_last_good_site(server: ServeProcess, site: Path):
    good = server.get()
    good_build = server.state()["build"]
    builds = server.builds()
    (site / "templates").mkdir()  # a new directory is watched from now on
    (site / "templates/home.html").write_text(
        '{% extends "base.html" %}\n{% block main %}\n<h1>{{ config.title </h1>\n{% endblock %}\n', "utf-8")
    server.wait_for_build(builds)  # the directory and the file may arrive as one or two rebuilds
    wait_until(lambda: "error: templates/home.html:3: template syntax error" in server.outcome(),
               message=f"the template error\n{server.output()}")
    assert server.get() == good
    state = server.state()
    assert state["build"] == good_build
    assert state["error"]["where"] == "templates/home.html:3"
    assert "template syntax error" in state["error"]["message"]
    assert "Traceback" not in server.output()

    builds = server.builds()
    (site / "templates/home.html").write_text(
        '{% extends "base.html" %}\n{% block main %}\n<h1>Fixed {{ config.title }}</h1>\n{% endblock %}\n',
        "utf-8")
    assert "built in" in server.wait_for_build(builds)
    assert b"<h1>Fixed " in server.get()
    state = server.state()
    assert state["error"] is None and state["build"] != good_build


@pytest.mark.slow
def test_unreadable_listing_error_is_reported_and_fixed(server: ServeProcess, site: Path):
    builds = server.builds()
    bad = site / "content/listings/<img src=x onerror=alert(1)>.txt"
    bad.write_bytes(b"\x80\x81 not utf-8 \xc3\x28")
    assert "error: content/listings/<img src=x onerror=alert(1)>.txt" in server.wait_for_build(builds)
    assert server.state()["error"]["where"].startswith("content/listings/<img")
    builds = server.builds()
    bad.unlink()
    assert "built in" in server.wait_for_build(builds)
    assert server.state()["error"] is None


@pytest.mark.slow
def test_directories_redirect_and_missing_pages_get_the_site_404(exposed: ServeProcess):
    status, headers, _ = exposed.request("/papers?x=1")
    assert status == 302 and headers["Location"] == "/papers/?x=1"
    status, _, body = exposed.request("/no/such/page/")
    assert status == 404 and b"Page not found" in body and b"/__sitegen/events" in body
    status, headers, body = exposed.request("/", method="HEAD")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 1000
    status, headers, _ = exposed.request("/static/style.css")
    assert status == 200 and headers["Content-Type"].startswith("text/css")
    assert exposed.request("/", method="POST")[0] == 405


@pytest.mark.parametrize("path", [
    "/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt", "/%2e%2e%2fsecret.txt",
    "/%2e%2e%5csecret.txt",
    "/..\\secret.txt", "/static/../../secret.txt", "/static/%2e%2e/%2e%2e/secret.txt", "/.%2e/secret.txt",
    "/static/leak.txt", "/leakdir/secret.txt", "/leakdir/", "/leakdir", "/static/leak.txt%00.html",
    "/%00", "/%01", "/%ff%fe", "{abs}", "/{abs}", "//{abs}", "/%2f{abs}", "http://127.0.0.1{abs}",
    "{abs_dotdot}", "*", "secret.txt",
])
def test_no_path_reaches_outside_the_output(exposed: ServeProcess, path: str):
    secret = exposed.secret
    path = path.format(abs=secret, abs_dotdot=f"/..{secret}")
    status, _, body = exposed.request(path)
    assert 400 <= status < 500, (path, status)
    assert SECRET.encode() not in body
    assert exposed.process.poll() is None


@pytest.mark.parametrize("request_bytes, status", [
    (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n", 414),
    (b"\x00\x01\x02 garbage\r\n\r\n", 400),
    (b"GET\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\n" + b"X-A: b\r\n" * 200 + b"\r\n", 431),
    (b"GET / HTTP/1.1\r\nHost: localhost\r\nX: " + b"b" * 70_000 + b"\r\n\r\n", 431),
    (b"GET /%zz%ff HTTP/1.1\r\nHost: localhost\r\n\r\n", 400),
    (b"GET /\x01/../x HTTP/1.1\r\nHost: localhost\r\n\r\n", 400),
    (b"GET /a\\..\\..\\etc HTTP/1.1\r\nHost: localhost\r\n\r\n", 400),
])
def test_malformed_requests_get_4xx(exposed: ServeProcess, request_bytes: bytes, status: int):
    with socket.create_connection(("127.0.0.1", exposed.port), timeout=10) as sock:
        sock.sendall(request_bytes)
        reply = sock.recv(65536)
    assert reply.split(b" ")[1] == str(status).encode(), reply[:200]
    assert exposed.get() and "Traceback" not in exposed.output()


@pytest.mark.slow
def test_a_silent_connection_is_closed_after_the_timeout_and_others_are_served(exposed: ServeProcess):
    with socket.create_connection(("127.0.0.1", exposed.port), timeout=60) as idle:
        idle.sendall(b"GET / HTT")  # and nothing more
        assert exposed.get()
        started = time.monotonic()
        assert idle.recv(1024) == b""  # closed by the server
        assert 5 < time.monotonic() - started < 30


@pytest.mark.parametrize("host, allowed", [
    ("localhost", True), ("localhost:1234", True), ("127.0.0.1", True), ("[::1]:8000", True),
    ("LOCALHOST", True), ("localhost.", True), ("evil.com", False), ("evil.com:{port}", False),
    ("localhost.evil.com", False), ("127.0.0.1.nip.io", False), ("localhost@evil.com", False),
    ("", False), ("127.0.0.2", False), ("localhost:99999999", False),
])
def test_host_header_must_name_this_server(exposed: ServeProcess, host: str, allowed: bool):
    status, _, body = exposed.request("/", host=host.format(port=exposed.port))
    assert status == (200 if allowed else 403), host
    if not allowed:
        assert b"Efficient ML" not in body
        assert exposed.request("/__sitegen/events", host=host.format(port=exposed.port))[0] == 403


@pytest.mark.slow
def test_500_concurrent_requests_all_succeed(exposed: ServeProcess):
    paths = ["", LISTING_PAGE, "papers/", "static/style.css", "papers.json"] * 100
    barrier = threading.Barrier(len(paths))

    def fetch(path: str) -> int:
        barrier.wait()
        return exposed.request(exposed.base_path + path)[0]

    with ThreadPoolExecutor(len(paths)) as pool:
        statuses = list(pool.map(fetch, paths))
    assert statuses == [200] * len(paths)
    assert "Traceback" not in exposed.output()


@pytest.mark.slow
def test_base_url_serves_under_its_path(site: Path):
    server = ServeProcess(site, "--base-url", "https://x.github.io/repo/").started()
    try:
        assert server.url.endswith("/repo/") and server.base_path == "/repo/"
        page = server.get()
        assert b'href="/repo/papers/"' in page and b'"/repo/__sitegen/events"' in page
        status, headers, _ = server.request("/")
        assert status == 302 and headers["Location"] == "/repo/"
        assert server.request("/repo")[1]["Location"] == "/repo/"
        assert server.request("/repo/papers")[1]["Location"] == "/repo/papers/"
        assert server.request("/papers/")[0] == 404
        assert server.request("/__sitegen/events")[0] == 404
        assert server.state()["error"] is None
        builds = server.builds()
        edit(site / LISTING, TITLE, NEW_TITLE)
        server.wait_for_build(builds)
        assert NEW_TITLE.encode() in server.get(LISTING_PAGE)
    finally:
        server.stop()


def test_port_in_use_says_what_to_do(site: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_sitegen("serve", "--source", str(site), "--port", str(port), cwd=REPO, timeout=60)
    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert f"--port {port + 1}" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_cleanly_and_removes_the_temporary_output(site: Path, sig: int):
    server = ServeProcess(site).started()
    assert server.out_dir.is_dir() and (server.out_dir / "index.html").is_file()
    assert server.stop(sig) == 0
    assert not server.out_dir.exists()
    assert "Traceback" not in server.output()


@pytest.mark.slow
def test_a_failing_first_build_still_serves_and_recovers(site: Path):
    (site / "templates").mkdir()
    (site / "templates/home.html").write_text(
        "{% extends 'base.html' %}\n{% block main %}{% if %}{% endblock %}\n")
    server = ServeProcess(site).started()
    try:
        state = server.state()
        assert state["error"]["where"] == "templates/home.html:2"
        status, _, body = server.request("/")
        assert status == 404 and b"/__sitegen/events" in body  # the page can show the error overlay
        builds = server.builds()
        (site / "templates/home.html").unlink()
        assert "built in" in server.wait_for_build(builds)
        assert TITLE.encode() in server.get()
    finally:
        server.stop()


def test_a_broken_sitegen_toml_at_start_is_an_error(site: Path):
    (site / "sitegen.toml").write_text("title = [unclosed\n")
    result = run_sitegen("serve", "--source", str(site), "--port", "0", cwd=REPO, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith("error: sitegen.toml:1: not valid TOML")
    assert "Traceback" not in result.stderr


# --- parts, in process ----------------------------------------------------------------------

@pytest.mark.slow
def test_a_stream_of_changes_cannot_starve_the_rebuild():
    """Changes every 20 ms for 2.5 s: builds start within the maximum wait, not after the stream."""
    started: list[float] = []
    rebuilder = Rebuilder(lambda written, superseded, viewed: started.append(time.monotonic()), Broadcast(),
                          before_build=lambda: None, log=lambda message: None)
    rebuilder.start()
    try:
        begin = time.monotonic()
        while time.monotonic() - begin < 2.5:
            rebuilder.changed("content/listings/a.txt")
            time.sleep(0.02)
        end = time.monotonic()
    finally:
        rebuilder.stop()
    assert len([t for t in started if t < end]) >= 2, [t - begin for t in started]


def test_a_burst_of_changes_is_one_rebuild():
    started: list[float] = []
    rebuilder = Rebuilder(lambda written, superseded, viewed: started.append(time.monotonic()), Broadcast(),
                          before_build=lambda: None, log=lambda message: None)
    rebuilder.start()
    try:
        for _ in range(20):
            rebuilder.changed("content/listings/a.txt")
        wait_until(lambda: started, 5, "a rebuild")
        time.sleep(0.3)
    finally:
        rebuilder.stop()
    assert len(started) == 1


def test_a_rebuild_that_catches_up_gives_way_to_changes_and_to_stopping():
    """After `pages_written()`, a rebuild may stop once `superseded()`: when files change (the
    next rebuild starts) and when the server stops (it stops without waiting for the rest)."""
    calls: list[int] = []
    log: list[str] = []

    def rebuild(written, superseded, viewed):
        calls.append(len(calls))
        written()
        wait_until(superseded, 10, "the rebuild to be superseded")
        raise BuildCancelled("search")

    broadcast = Broadcast()
    rebuilder = Rebuilder(rebuild, broadcast, before_build=lambda: None, log=log.append)
    rebuilder.start()
    try:
        rebuilder.changed("content/listings/a.txt")
        wait_until(lambda: calls, 5, "a rebuild")
        rebuilder.changed("content/listings/a.txt")
        wait_until(lambda: len(calls) == 2, 5, "the next rebuild")
    finally:
        rebuilder.stop()
    stopped = [line for line in log if line.startswith("stopped after")]
    assert len(stopped) == 2 and "files changed" in stopped[0] and "server is stopping" in stopped[1], log
    assert broadcast.state.error is None and broadcast.state.build.endswith("-2"), "both wrote their pages"


def test_a_failed_rebuild_keeps_the_build_id_and_carries_the_error():
    broadcast = Broadcast()
    first = broadcast.state

    def failing(written, superseded, viewed):
        raise BuildError("templates/x.html", 4, "bad <tag> & more")

    rebuilder = Rebuilder(failing, broadcast, before_build=lambda: None, log=lambda message: None)
    rebuilder.build(set())
    assert broadcast.state.build == first.build
    assert '"where": "templates/x.html:4"' in broadcast.state.to_json()
    rebuilder = Rebuilder(lambda written, superseded, viewed: None, broadcast, before_build=lambda: None,
                          log=lambda message: None)
    rebuilder.build(set())
    assert broadcast.state.build != first.build and broadcast.state.error is None


def test_a_build_id_tells_each_browser_whether_its_page_changed():
    broadcast = Broadcast()
    start = broadcast.state.build

    def told(page: str | None) -> dict:
        return json.loads(broadcast.state.to_json(page))

    broadcast.publish(new_site=True, changed=["a/index.html"])
    assert told("a/index.html") == {"build": broadcast.state.build, "since": start, "changed": True, "error": None,
                                    "built": True}
    assert told("b/index.html")["changed"] is False
    assert told(None)["changed"] is None, "a page that is no file reloads on every build"
    second = broadcast.state.build
    broadcast.publish(new_site=False, error=Diagnostic("x.txt", 3, "bad"))
    assert told("b/index.html")["build"] == second and told("b/index.html")["changed"] is False
    broadcast.publish(new_site=True)  # any file may have changed
    assert told("b/index.html")["since"] == second and told("b/index.html")["changed"] is None


def test_a_browser_that_connects_late_is_told_what_changed_since_its_page_was_served():
    """A page that loaded while several builds were published stays as it is when none of them
    changed it (the quick and the exact build of a small site often land together)."""
    broadcast = Broadcast()
    served = broadcast.state.build
    broadcast.publish(new_site=True, changed=["a/index.html"])
    broadcast.publish(new_site=False, error=Diagnostic("x.txt", 3, "bad"))
    broadcast.publish(new_site=True, changed=["papers.json"])

    def told(page: str, loaded: str | None) -> dict:
        return json.loads(broadcast.seen_from(broadcast.state, loaded).to_json(page))

    assert told("b/index.html", served) == {"build": broadcast.state.build, "since": served, "changed": False,
                                            "error": None, "built": True}
    assert told("a/index.html", served)["changed"] is True
    assert told("b/index.html", "unknown-7")["since"] != "unknown-7", "an id it does not know: reload"
    assert told("b/index.html", None)["since"] == broadcast.state.since
    assert told("b/index.html", broadcast.state.build)["build"] == broadcast.state.build
    broadcast.publish(new_site=True)  # any file may have changed
    assert told("b/index.html", served)["since"] != served
    later = broadcast.state.build
    for number in range(HISTORY):
        broadcast.publish(new_site=True, changed=[f"n{number}.html"])
    assert told("b/index.html", later) == {"build": broadcast.state.build, "since": later, "changed": False,
                                           "error": None, "built": True}
    broadcast.publish(new_site=True, changed=["n.html"])
    assert told("b/index.html", later)["since"] != later, "a build it no longer remembers: reload"


def test_the_server_knows_which_pages_browsers_show():
    broadcast = Broadcast()
    with broadcast.viewing("a/index.html"), broadcast.viewing("a/index.html"), broadcast.viewing(None):
        with broadcast.viewing("b/index.html"):
            assert broadcast.viewed() == {"a/index.html", "b/index.html"}
        assert broadcast.viewed() == {"a/index.html"}
    assert broadcast.viewed() == frozenset()


def test_livereload_script_goes_before_the_last_body_end_tag():
    assert inject(b"<p>a</p></BODY></html>", b"<s>") == b"<p>a</p><s></BODY></html>"
    assert inject(b"<pre></body></pre></body>", b"<s>") == b"<pre></body></pre><s></body>"
    assert inject(b"no body", b"<s>") == b"no body<s>"
    site = SiteFiles(Path("/x"), "/re</script>po/", "127.0.0.1", Broadcast())
    assert b"</script>po" not in site.snippet() and site.snippet().count(b"</script>") == 1


@pytest.mark.parametrize("name, junk", [
    (".000.txt.swp", True), ("000.txt~", True), ("#000.txt#", True), (".#000.txt", True), ("4913", True),
    ("000.txt.sitegen-tmp", True), ("000.txt___jb_tmp___", True), (".DS_Store", True),
    ("000.txt", False), ("base.html", False), ("sitegen.toml", False), ("notes.md", False),
])
def test_editor_junk_files(name: str, junk: bool):
    assert is_junk(name) is junk


def test_host_check_when_listening_on_every_interface():
    site = SiteFiles(Path("/x"), "/", "0.0.0.0", Broadcast())
    assert site.host_allowed("192.168.1.20:8000") and site.host_allowed("localhost")
    assert not site.host_allowed("evil.example:8000")
