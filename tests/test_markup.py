"""Curator-written Markdown: highlighting stays linear, front matter is read, nothing is cut short
without a warning. Real files in a real site, read by the real functions and the real CLI."""

from __future__ import annotations

import html
import time
from pathlib import Path

import pytest

from hostile.harness import build, make_site
from sitegen.content import read_notes
from sitegen.markup import CODE_BLOCK_MAX, CODE_LINE_MAX, MAX_NESTING

LISTING = "Daily Papers\n\nNov 4\n\nA Paper With Notes\n\nAn abstract.\n\n  • 3 authors\n·\nMay 3, 2024 5\n"
SLUG = "a-paper-with-notes"


def _note_cost(root: Path, note: str) -> float:
    """Best of three: seconds to read and render `content/notes/<SLUG>.md` holding `note`."""
    notes = root / "content" / "notes"
    notes.mkdir(parents=True, exist_ok=True)
    (notes / f"{SLUG}.md").write_text(note, "utf-8")
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        rendered, warnings = read_notes(notes, root, {SLUG})
        best = min(best, time.perf_counter() - started)
        assert warnings == [] and SLUG in rendered
    return best


def _blocks(lang: str, code: str, count: int) -> str:
    return "".join(f"Block {i}:\n\n```{lang}\n{code}```\n\n" for i in range(count))


def test_a_long_line_does_not_make_highlighting_quadratic(tmp_path):
    """A ```terraform block with one line of 20,000 `a` took 23 s (5,000: 2.2 s); 10,000 took
    15 times as long as 2,500."""
    n = 2_500
    cost = {size: _note_cost(tmp_path, _blocks("terraform", "a" * size + "\n", 4)) for size in (n, 4 * n)}
    assert cost[4 * n] < 8 * cost[n], cost


@pytest.mark.slow
def test_highlighting_is_linear_in_the_number_of_blocks(tmp_path):
    """Blocks at the limits (longest lines, largest size) of lexers that are slow on them."""
    code = ("a" * (CODE_LINE_MAX - 1) + "\n") * (CODE_BLOCK_MAX // CODE_LINE_MAX)
    for lang in ("terraform", "make", "http"):
        cost = {count: _note_cost(tmp_path, _blocks(lang, code, count)) for count in (2, 8)}
        assert cost[8] < 8 * cost[2], (lang, cost)


def test_blocks_past_the_limits_are_shown_whole_and_plain(tmp_path):
    root = make_site(tmp_path / "site", {"a.txt": LISTING})
    (root / "content" / "notes").mkdir()
    long_line = "x = 1 # " + "<&>" * 10_000
    (root / "content" / "notes" / f"{SLUG}.md").write_text(
        f"```python\n{long_line}\n```\n\n```python\nprint('short')\n```\n\n```systemd\n[Unit]\n```\n", "utf-8")
    result = build(root, tmp_path / "out", "-q", "--no-search")
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "out" / "papers" / SLUG / "index.html").read_text("utf-8")
    assert html.escape(long_line, quote=False) in page, "the long block, escaped, every character"
    assert '<span class="nb">print</span>' in page, "short blocks are still highlighted"
    assert "[Unit]" in page


def test_front_matter_and_deep_nesting_are_read_or_reported(tmp_path):
    root = make_site(tmp_path / "site", {"a.txt": LISTING})
    (root / "content" / "pages").mkdir()
    deep = "".join("  " * i + f"- level {i}\n" for i in range(12))
    deeper = "".join("  " * i + f"- item {i}\n" for i in range(MAX_NESTING))
    (root / "content" / "pages" / "about.md").write_text(
        '---\ntitle: "About: this site"\ndraft: true\n---\n# A heading\n\n' + deep + "\nAfter the list.\n\n"
        + deeper + "\nThe end.\n", "utf-8")
    (root / "content" / "notes").mkdir()
    (root / "content" / "notes" / f"{SLUG}.md").write_text("---\ntitle: Mine\n---\nA note.\n", "utf-8")
    (root / "content" / "pages" / "broken.md").write_text("---\ntitle: [unclosed\n---\nBody.\n", "utf-8")
    out = tmp_path / "out"
    result = build(root, out, "--no-search")
    assert result.returncode == 0, result.stderr
    about = (out / "about" / "index.html").read_text("utf-8")
    assert "<title>About: this site" in about
    assert "level 11" in about and "After the list." in about, "a list ten levels deep is shown whole"
    assert "item 48" in about, "cut short at MAX_NESTING, and reported"
    assert "draft" not in about and "title:" not in about, "front matter is not shown as text"
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    # `- item 0` is on line 22; each list level nests two deep (list, item): the item at depth
    # MAX_NESTING - 1 is the one whose content is not shown.
    deepest = 22 + (MAX_NESTING - 1) // 2
    assert any(w.startswith("warning: content/pages/about.md:3: unknown front matter key 'draft'") for w in warnings)
    assert any(w.startswith(f"warning: content/pages/about.md:{deepest}: nested more than") for w in warnings), warnings
    assert any(w.startswith(f"warning: content/notes/{SLUG}.md:2: unknown front matter key 'title'")
               for w in warnings)
    assert any(w.startswith("warning: content/pages/broken.md:") and "not valid YAML" in w for w in warnings)
    assert "Body." in (out / "broken" / "index.html").read_text("utf-8")
    assert "A note." in (out / "papers" / SLUG / "index.html").read_text("utf-8")
