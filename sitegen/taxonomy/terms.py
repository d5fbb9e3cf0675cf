"""Terms (topics and hardware) and the hardware graph they form."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property


@dataclass(frozen=True)
class GpuSpec:
    """One variant of a GPU as the GPU database gives it (all figures optional)."""

    name: str
    """The database's name of the variant, e.g. `A100 SXM4 80 GB`."""
    architecture: str | None = None
    generation: str | None = None
    released: date | None = None
    memory_gb: float | None = None
    memory_type: str | None = None
    bandwidth_gb_s: float | None = None
    fp16_tflops: float | None = None
    fp32_tflops: float | None = None
    tdp_w: int | None = None
    url: str | None = None
    """The variant's page at the database's source (TechPowerUp)."""


@dataclass(frozen=True)
class Term:
    """A topic or a hardware term; each that tags a paper gets a page."""

    slug: str
    """URL segment, unique across topics and hardware."""
    name: str
    """Display name, exactly as written in the rules (`NVIDIA H100`, `WebGPU`)."""
    kind: str
    """`topic` or `hardware`."""
    description: str = ""
    role: str = "topic"
    """`topic`, or for hardware: `model`, `architecture`, `vendor` or `class`."""
    parents: tuple[str, ...] = ()
    """Slugs one step up the hardware graph: variant_of, architecture, vendor, class."""
    line: int = 0
    """Line of the rule in the rule file, for messages; 0 for a term of the GPU catalogue."""
    specs: tuple[GpuSpec, ...] = ()
    """For a GPU: its variants' specifications from the GPU catalogue."""


@dataclass(frozen=True)
class Taxonomy:
    """Every term of the rule file (and of the GPU catalogue), in order, with graph look-ups."""

    topics: tuple[Term, ...] = ()
    hardware: tuple[Term, ...] = ()
    source: str = ""
    """The rule file as shown in messages."""
    digest: str = ""
    """A hash of the rule file and the catalogue: taxonomies are equal only when these are."""
    matchers: tuple = field(default=(), repr=False, compare=False)
    """What finds each term in a text (`phrases.Matcher`), in the order of the terms."""

    @cached_property
    def terms(self) -> dict[str, Term]:
        """Every term by slug."""
        return {t.slug: t for t in self.topics + self.hardware}

    @cached_property
    def _children(self) -> dict[str, tuple[Term, ...]]:
        children: dict[str, list[Term]] = {}
        for t in self.hardware:
            for parent in t.parents:
                children.setdefault(parent, []).append(t)
        return {slug: tuple(terms) for slug, terms in children.items()}

    def term(self, slug: str) -> Term | None:
        return self.terms.get(slug)

    def children(self, slug: str) -> tuple[Term, ...]:
        """Terms one step down the graph (models of an architecture, variants of a model...)."""
        return self._children.get(slug, ())

    def ancestors(self, slug: str) -> tuple[Term, ...]:
        """Every term up the graph, nearest first (H100 -> Hopper, data-centre GPU, NVIDIA)."""
        return self._walk(slug, lambda t: [self.terms[p] for p in t.parents])

    def descendants(self, slug: str) -> tuple[Term, ...]:
        """Every term down the graph, nearest first."""
        return self._walk(slug, lambda t: self.children(t.slug))

    def _walk(self, slug: str, step) -> tuple[Term, ...]:
        start = self.terms.get(slug)
        if start is None:
            return ()
        seen, order, frontier = {slug}, [], [start]
        while frontier:
            nxt = []
            for term in frontier:
                for other in step(term):
                    if other.slug not in seen:
                        seen.add(other.slug)
                        order.append(other)
                        nxt.append(other)
            frontier = nxt
        return tuple(order)
