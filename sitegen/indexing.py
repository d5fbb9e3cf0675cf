"""The search index of one build, started as early as it can be: the stand-in speed-up behind three calls.

`start()` once the papers are classified writes stand-ins for the paper pages and starts
Pagefind on them (`search.start_index`), while the related papers are found and the pages
render; `see()` checks each rendered page against its stand-in; `finish()` takes the write
report and brings `pagefind/` up to date. Rendering a page around the block its stand-in
already holds reaches into Jinja's low-level API: only here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import jinja2

from .output import WriteReport
from .pages import PageJob
from .renderer import load_template
from .search import INDEXED_BLOCK, SearchDocuments, SearchResult, start_index, update_index, uses_ui


class SearchIndexing:
    """The search index of a build into `out_dir` made from `inputs` (`inputs.fingerprint`).

    `theme_files` are the bytes of the theme's templates and static files: Pagefind's ready-made
    interfaces are kept if one of them names them (`search.uses_ui`). Until
    `start()` finds stand-ins, every call is a plain one: no page is seen, and `finish()` runs
    Pagefind over the written pages when they changed.
    """

    def __init__(self, out_dir: Path, inputs: str, theme_files: list[bytes]):
        self.out_dir, self.inputs, self.theme_files = out_dir, inputs, theme_files
        self.documents: SearchDocuments | None = None

    def start(self, env: jinja2.Environment, jobs: list[PageJob], root: Path, language: str, workers: int) -> None:
        """Write stand-ins for the paper pages of `jobs` (`pages.paper_page_parts`) and start Pagefind
        on them, unless the template has no indexed block or a stand-in cannot be made."""
        load_template(env, "paper.html", root)
        loaded = env.get_template("paper.html")
        block = loaded.blocks.get(INDEXED_BLOCK)
        if block is not None:
            self.documents = start_index(lambda context: "".join(block(loaded.new_context(context))), jobs,
                                         self.out_dir, language, workers=workers)

    @property
    def running(self) -> bool:
        """Whether Pagefind runs meanwhile: the work beside it gives way."""
        return self.documents is not None and self.documents.indexer is not None

    def page(self, env: jinja2.Environment, template: str, context: dict, path: str) -> str | None:
        """The page at `path`, rendered with its stand-in's block as it is; None when it has none.

        Through Jinja's low-level API (`Template.new_context`, `root_render_func`): the template
        calls a block as `context.blocks[name][0]`, which is replaced here. Errors are the
        caller's to report (`renderer.template_error`).
        """
        html = self.documents.bodies.get(path) if self.documents is not None else None
        if html is None:
            return None
        loaded = env.get_template(template)
        page_context = loaded.new_context(context)
        page_context.blocks[INDEXED_BLOCK] = [lambda _: iter((html.decode("utf-8"),))]
        try:
            return env.concat(loaded.root_render_func(page_context))
        except Exception:
            env.handle_exception()  # raises it again, with the template's file and line in the traceback
            raise  # not reached

    def see(self, path: str, page: bytes) -> bool:
        """Whether Pagefind finds in the rendered `page` what it finds in its stand-in (asked in the workers)."""
        return self.documents is not None and self.documents.matches(path, page)

    def finish(self, indexed: Iterable[str], matched: Iterable[str], html: list[str], report: WriteReport,
               cancelled: Callable[[], bool] | None = None) -> SearchResult:
        """Bring `pagefind/` up to date with the pages just written: `indexed` ones the index holds,
        `matched` those that matched their stand-ins, `html` every page, `report` the write's."""
        indexed = list(indexed)
        documents = self.documents
        stood_in = documents is not None and documents.stand_for(indexed, matched)
        return update_index(self.out_dir, indexed, html, report, inputs=self.inputs,
                            documents=documents if stood_in else None, cancelled=cancelled,
                            keep_ui=uses_ui(self.theme_files))

    def close(self) -> None:
        if self.documents is not None:
            self.documents.close()

    def __enter__(self) -> SearchIndexing:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

