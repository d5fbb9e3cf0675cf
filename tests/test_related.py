"""Similar papers on the real seeds: deterministic, sensible; the pruned index for many papers."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from sitegen.listings import read_listings
from sitegen.papers import Paper, merge, with_fields
from sitegen.related import _counts, _vectors, relate
from sitegen.taxonomy import classify, load_rules

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def seeds() -> list[Paper]:
    papers, _ = merge(read_listings(ROOT / "content" / "listings", ROOT, {}))
    papers = classify(papers, load_rules(ROOT / "content" / "rules.toml", "content/rules.toml")).papers
    return papers


@pytest.fixture(scope="module")
def related_seeds(seeds) -> dict[str, tuple[str, ...]]:
    return relate(seeds)


def by_slug(papers: list[Paper]) -> dict[str, Paper]:
    return {p.slug: p for p in papers}


def test_five_other_existing_papers_each(seeds, related_seeds):
    assert list(related_seeds) == [p.slug for p in seeds]
    for slug, related in related_seeds.items():
        assert len(related) == 5
        assert slug not in related
        assert len(set(related)) == 5
        assert set(related) <= set(related_seeds)


def test_deterministic_and_independent_of_order(seeds, related_seeds):
    shuffled = list(seeds)
    random.Random(7).shuffle(shuffled)
    assert dict(sorted(relate(shuffled).items())) == dict(sorted(related_seeds.items()))
    assert relate(seeds) == related_seeds


def test_nerf_papers_relate_to_rendering_papers(seeds, related_seeds):
    papers = by_slug(seeds)
    rendering = {"nerf", "gaussian-splatting", "neural-rendering", "3d-reconstruction"}
    for p in seeds:
        if "nerf" in p.topics and p.title.startswith(("Zip-NeRF", "PyNeRF", "Re-ReND", "MixRT")):
            near = [s for s in related_seeds[p.slug] if rendering & set(papers[s].topics)]
            assert len(near) >= 4, (p.title, [papers[s].title for s in related_seeds[p.slug]])


@pytest.mark.parametrize("title, expected", [
    ("KernelBench", "CUDA-LLM: LLMs Can Write Efficient CUDA Kernels"),
    ("QLoRA", "Profiling LoRA/QLoRA Fine-Tuning Efficiency on Consumer GPUs: "
              "An RTX 4060 Case Study"),
    ("HelpSteer2: Open-source", "HelpSteer2-Preference: Complementing Ratings with Preferences"),
    ("RandAR", "Randomized Autoregressive Visual Generation"),
])
def test_obvious_neighbours(seeds, related_seeds, title, expected):
    papers = by_slug(seeds)
    [p] = [p for p in seeds if p.title.startswith(title)]
    assert expected in [papers[s].title for s in related_seeds[p.slug]]


def test_count_and_tiny_inputs(seeds):
    assert all(len(related) == 2 for related in relate(seeds[:10], count=2).values())
    assert relate(seeds[:1]) == {seeds[0].slug: ()}
    assert relate([]) == {}
    untitled = [with_fields(p, abstract=None, title=f"Paper {i}") for i, p in enumerate(seeds[:3])]
    assert all(set(related) <= {q.slug for q in untitled} for related in relate(untitled).values())


def test_pruned_index_above_the_exact_limit(seeds):
    """Many papers: copies of each seed with new titles find their own copies first."""
    copies = [with_fields(p, slug=f"{p.slug}-{n}", title=f"Study {n} of {p.title}")
              for n in range(3) for p in seeds if p.abstract]
    result = relate(copies, exact_up_to=50)
    hits = 0
    for p in copies:
        original = p.slug.rsplit("-", 1)[0]
        twins = {f"{original}-{n}" for n in range(3)} - {p.slug}
        assert len(result[p.slug]) == 5
        hits += twins <= set(result[p.slug][:2])
    assert hits >= 0.95 * len(copies)
    assert relate(copies, exact_up_to=50) == result


def test_pruned_scores_stay_close_to_exact(seeds):
    """The pruned index finds papers whose true cosine is close to the best five's."""
    v = _vectors([_counts(p) for p in seeds])
    vectors = [dict(zip(v.word[s:e].tolist(), v.weight[s:e].tolist()))
               for s, e in zip(v.starts[:-1], v.starts[1:])]
    number = {p.slug: i for i, p in enumerate(seeds)}

    def cosine(i: int, j: int) -> float:
        return sum(v * vectors[j].get(w, 0.0) for w, v in vectors[i].items())

    exact = relate(seeds)
    pruned = relate(seeds, exact_up_to=0)
    ratios = []
    for i, paper in enumerate(seeds):
        best = sum(cosine(i, number[s]) for s in exact[paper.slug])
        ratios.append(sum(cosine(i, number[s]) for s in pruned[paper.slug]) / best)
        assert max(cosine(i, j) for j in range(len(seeds)) if j != i) == \
            pytest.approx(cosine(i, number[exact[paper.slug][0]]))
    assert sum(ratios) / len(ratios) >= 0.85
