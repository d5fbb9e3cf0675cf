"""Topic and hardware rules: the shipped rules on the real seed papers, traps on real sentences,
rule-file errors with file:line."""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sitegen.diagnostics import BuildError
from sitegen.listings import Source, read_listings
from sitegen.papers import Paper, merge
from sitegen.taxonomy import Taxonomy, classify, load_rules, sentences

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "content" / "rules.toml"
TRAPS = Path(__file__).parent / "fixtures" / "rules" / "traps.toml"


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return load_rules(RULES, "content/rules.toml")


@pytest.fixture(scope="module")
def traps() -> Taxonomy:
    return load_rules(TRAPS, "traps.toml")


@pytest.fixture(scope="module")
def seeds() -> list[Paper]:
    papers, _ = merge(read_listings(ROOT / "content" / "listings", ROOT, {}))
    return papers


@pytest.fixture(scope="module")
def classified(seeds, taxonomy) -> tuple[list[Paper], list]:
    result = classify(seeds, taxonomy)
    return result.papers, result


def paper(title: str, abstract: str | None = None) -> Paper:
    return Paper(slug="p", key=title.lower(), title=title, abstract=abstract,
                 published=date(2025, 1, 1), published_year_inferred=False, upvotes=None,
                 authors_count=None,
                 organization=None, links=(), sources=(Source("listing.txt", 7),), listings=())


def seed(papers: list[Paper], title_start: str) -> Paper:
    [found] = [p for p in papers if p.title.startswith(title_start)]
    return found


def hardware(p: Paper) -> dict[str, str]:
    """Slug -> the mention's text."""
    return {m.slug: m.sentence[m.start:m.end] for m in p.hardware}


def tag(taxonomy: Taxonomy, abstract: str) -> dict[str, str]:
    [result] = classify([paper("A paper", abstract)], taxonomy).papers
    return hardware(result)


# --- the shipped rules ---------------------------------------------------------------------

def test_rules_load_with_a_graph(taxonomy):
    assert len(taxonomy.topics) >= 15
    assert taxonomy.term("webgpu").name == "WebGPU"
    assert taxonomy.term("h100").name == "NVIDIA H100"
    assert [t.slug for t in taxonomy.ancestors("h100")] == ["hopper", "data-centre-gpu", "nvidia"]
    assert "rtx-4090-d" in {t.slug for t in taxonomy.children("rtx-4090")}
    nvidia = {t.slug for t in taxonomy.descendants("nvidia")}
    assert {"h100", "rtx-4090", "rtx-4090-d", "hopper"} <= nvidia
    assert [t.slug for t in taxonomy.hardware][:2] == ["data-centre-gpu", "consumer-gpu"]
    roles = {t.role for t in taxonomy.hardware}
    assert roles == {"model", "architecture", "vendor", "class"}


def test_every_seed_paper_gets_a_topic(classified):
    papers, result = classified
    assert [p.title for p in papers if not p.topics] == []
    assert result.untagged == ()


def test_topics_are_in_rule_order(classified, taxonomy):
    order = [t.slug for t in taxonomy.topics]
    for p in classified[0]:
        assert list(p.topics) == sorted(p.topics, key=order.index)


@pytest.mark.parametrize("title, expected", [
    ("Zip-NeRF", "nerf"),
    ("4D Gaussian Splatting", "gaussian-splatting"),
    ("NanoFlow", "llm-inference"),
    ("QLoRA", "quantization"),
    ("KernelBench", "llm-kernel-generation"),
    ("ControlVideo", "video-generation"),
    ("RandAR", "autoregressive-image-generation"),
    ("Galvatron", "distributed-training"),
    ("LivePortrait", "avatars"),
    ("ProRL", "rl-reasoning"),
    ("MBQ", "vision-language-models"),
    ("Benchmarking and Dissecting the Nvidia Hopper", "hardware-architecture"),
    ("RTGS", "on-device"),
    ("GameIR", "datasets-benchmarks"),
])
def test_seed_topics(classified, title, expected):
    assert expected in seed(classified[0], title).topics


def test_cuda_the_dataset_is_not_about_gpu_kernels(classified):
    cuda = seed(classified[0], "CUDA: Convolution-based Unlearnable")
    assert "privacy-security" in cuda.topics


# --- traps, on the real seed paper where each occurs ----------------------------------------

def test_ernie_titan_is_a_model_not_a_gpu(classified, seeds, traps):
    glm = seed(classified[0], "GLM-130B")
    assert "gtx-titan-x" not in hardware(glm)
    assert "ERNIE TITAN 3.0" in glm.abstract
    [glm_traps] = classify([seed(seeds, "GLM-130B")], traps).papers
    assert "titan-rtx" not in hardware(glm_traps)


def test_lost_times_is_a_gpu_count(classified):
    glm = seed(classified[0], "GLM-130B")
    assert hardware(glm)["rtx-3090"] == "RTX 3090"
    assert hardware(glm)["rtx-2080-ti"] == "RTX 2080 Ti"
    [mention] = [m for m in glm.hardware if m.slug == "rtx-3090"]
    assert "4timesRTX 3090 (24G)" in mention.sentence


def test_pixel_synthesis_is_not_a_phone(classified, seeds, traps):
    creps = seed(classified[0], "Efficient Scale-Invariant Generator")
    assert "Pixel Synthesis" in creps.title and creps.hardware == ()
    [creps_traps] = classify([seed(seeds, "Efficient Scale-Invariant Generator")], traps).papers
    assert hardware(creps_traps) == {}


def test_l40_h20_and_h800_are_told_apart(classified, seeds, traps):
    cuda_l1 = hardware(seed(classified[0], "CUDA-L1"))
    assert {"h100", "rtx-3090", "l40", "h800", "h20", "a100"} <= set(cuda_l1)
    assert cuda_l1["l40"] == "L40" and cuda_l1["h20"] == "H20"
    [with_traps] = classify([seed(seeds, "CUDA-L1")], traps).papers
    assert set(hardware(with_traps)) == {"h100", "rtx-3090", "l40", "h20"}  # no L4, L40S, H200


def test_nvidia_3090_is_an_rtx_3090(classified):
    qmoe = seed(classified[0], "QMoE")
    [mention] = [m for m in qmoe.hardware if m.slug == "rtx-3090"]
    assert mention.sentence[mention.start:mention.end] == "NVIDIA 3090"
    assert "8x NVIDIA 3090 GPUs" in mention.sentence
    assert hardware(qmoe)["rtx-a6000"] == "A6000"


def test_rtx_4090d_is_its_own_term_under_the_4090(classified, taxonomy):
    llia = hardware(seed(classified[0], "LLIA"))
    assert llia == {"rtx-4090-d": "RTX 4090D"}
    assert "rtx-4090" in {t.slug for t in taxonomy.ancestors("rtx-4090-d")}


def test_rtx_3090_ti_is_not_an_rtx_3090(classified):
    assert hardware(seed(classified[0], "TCLC-GS")) == {"rtx-3090-ti": "RTX 3090 Ti"}


def test_rtx5090_without_a_space(classified):
    fp4 = hardware(seed(classified[0], "Bridging the Gap Between Promise"))
    assert fp4["rtx-5090"] == "RTX5090"
    assert fp4["b200"] == "B200"


@pytest.mark.parametrize("title, slug, sentence_part", [
    ("Puzzle", "h100", "fitting on a single NVIDIA H100 GPU"),
    ("4D Gaussian Splatting", "rtx-4090", "583 FPS on an RTX 4090 GPU"),
    ("4D Gaussian Splatting", "rtx-3090", "277 FPS on an RTX 3090 GPU"),
    ("SANA-Video", "rtx-5090", "deployable on RTX 5090 GPU"),
    ("DM-VTON", "t4", "Nvidia Tesla T4 GPU"),
    ("FlashMoE", "h100", "8-H100 GPU node"),
    ("Instella-T2I", "mi300x", "8 AMD MI300X GPUs"),
    ("Debunking the CUDA Myth", "gaudi-2", "compare Intel Gaudi-2 with NVIDIA A100"),
    ("EfficientViT", "xeon", "Intel Xeon CPU"),
    ("MixRT", "apple-m1-pro", "MacBook M1 Pro laptop"),
    ("MixRT", "webgl", "WebGL-based rendering framework"),
    ("Real-Time Neural Light Field on Mobile", "apple-iphone-13", "(iPhone 13)"),
    ("Instant Facial Gaussians", "snapdragon-8-gen-2", "Snapdragon 8 Gen 2 mobile platform"),
    ("Learned Smartphone ISP", "snapdragon-8-gen-1", "Snapdragon's 8 Gen 1 GPU"),
    ("RTGS", "jetson-xavier", "Nvidia Jetson Xavier board"),
    ("Visionary", "webgpu", "WebGPU-Powered"),
    ("Adding NVMe SSDs", "nvme", "NVMe SSDs"),
    ("ZeRO-Infinity", "dgx-2", "single NVIDIA DGX-2 node"),
    ("XR-NPE", "vcu129", "accelerators on VCU129"),
    ("Billion-scale similarity search", "gtx-titan-x", "4 Maxwell Titan X GPUs"),
    ("Video-Infinity", "rtx-6000-ada", "8 x Nvidia 6000 Ada GPU"),
    ("Benchmarking and Dissecting", "ada-lovelace", "namely Hopper, Ada, and Ampere"),
    ("Analyzing Modern NVIDIA GPU cores", "turing", "such as Turing"),
    ("CudaForge", "rtx-4090", "(A100, RTX 6000, 4090, 3090)"),
])
def test_true_mentions_keep_their_sentence(classified, title, slug, sentence_part):
    p = seed(classified[0], title)
    [mention] = [m for m in p.hardware if m.slug == slug]
    assert sentence_part in mention.sentence
    assert mention.sentence in (p.title, p.abstract) or mention.sentence in p.abstract
    assert 0 <= mention.start < mention.end <= len(mention.sentence)


def test_ambiguous_words_need_their_context(classified):
    zip_nerf = seed(classified[0], "Zip-NeRF")  # no "Hopper"/"Turing"/... anywhere
    assert zip_nerf.hardware == ()
    for p in classified[0]:
        for m in p.hardware:
            if m.slug in ("hopper", "ampere", "turing", "ada-lovelace"):
                assert "GPU" in m.sentence or "NVIDIA" in m.sentence.upper()


# --- traps on small real sentences ---------------------------------------------------------

@pytest.mark.parametrize("abstract, expected", [
    ("It outperforms ERNIE TITAN 3.0 260B -- the largest Chinese language model.", {}),
    ("We train on an NVIDIA TITAN RTX GPU.", {"titan-rtx": "TITAN RTX"}),
    ("It runs at 30 FPS on a TITAN GPU.", {"titan-rtx": "TITAN"}),
    ("We propose Column-Row Entangled Pixel Synthesis (CREPS).", {}),
    ("Pixel values are computed via volume rendering.", {}),
    ("It runs on a Google Pixel 7 phone.", {"google-pixel": "Google Pixel 7"}),
    ("x16.5 on L40, x14.7 on H800, and x13.9 on H20.", {"l40": "L40", "h20": "H20"}),
    ("Served on L40S GPUs.", {"l40s": "L40S"}),
    ("Served on four L40s and two L4s.", {"l40": "L40s", "l4": "L4s"}),
    ("Profiled on H200 and H20 GPUs.", {"h200": "H200", "h20": "H20"}),
    ("a single server with 4x NVIDIA A6000 or 8x NVIDIA 3090 GPUs", {"rtx-3090": "NVIDIA 3090"}),
    ("On an NVIDIA RTX 4090D, our model achieves 78 FPS.", {"rtx-4090d": "RTX 4090D"}),
    ("Utilizing a single NVIDIA RTX 3090 Ti, our method is fast.", {"rtx-3090-ti": "RTX 3090 Ti"}),
    ("inference on 4timesRTX 3090 (24G) GPUs", {"rtx-3090": "RTX 3090"}),
    ("end-to-end on RTX5090.", {"rtx-5090": "RTX5090"}),
    ("trained on 8xH100 nodes", {"h100": "H100"}),
    ("trained on 64 H100s", {"h100": "H100s"}),
    ("the GH100 die and H100X are not it", {}),
])
def test_trap_sentences(traps, abstract, expected):
    assert tag(traps, abstract) == expected


def test_one_mention_per_term_the_first(traps):
    [p] = classify([paper("Fast on an RTX 4090", "Also 583 FPS on an RTX 4090 GPU.")], traps).papers
    [mention] = p.hardware
    assert (mention.sentence, mention.start, mention.end) == ("Fast on an RTX 4090", 11, 19)


@settings(max_examples=200, deadline=None)
@given(before=st.sampled_from(["", " ", "(", "on ", "8x", "4times", "-"]),
       sep=st.sampled_from([" ", "", "-"]),
       after=st.sampled_from(["", " ", ".", ",", ")", "s", " GPU"]),
       noise=st.text(alphabet="abc xyz.", max_size=30))
def test_every_spelling_of_a_phrase_is_found(traps, before, sep, after, noise):
    text = f"{noise} {before}RTX{sep}4090{after} {noise}"
    assert tag(traps, text) == {"rtx-4090": f"RTX{sep}4090{'s' if after == 's' else ''}"}


# --- sentences -----------------------------------------------------------------------------

def test_sentences_do_not_break_on_abbreviations_or_numbers():
    text = ("We compare NeRF vs. 3DGS (e.g. on Mip-NeRF 360) at 3.6x speed with Llama 3.1 405B. "
            "ERNIE TITAN 3.0 is large, i.e. 260B. See Fig. 2 for details! Done? Yes.")
    assert [text[s:e] for s, e in sentences(text)] == [
        "We compare NeRF vs. 3DGS (e.g. on Mip-NeRF 360) at 3.6x speed with Llama 3.1 405B.",
        "ERNIE TITAN 3.0 is large, i.e. 260B.",
        "See Fig. 2 for details!",
        "Done?",
        "Yes.",
    ]


def test_sentence_ends_after_closing_bracket():
    text = "It is fast (2.4x speedup). In summary, it works."
    assert [text[s:e] for s, e in sentences(text)] == ["It is fast (2.4x speedup).",
                                                       "In summary, it works."]


# --- rule files ----------------------------------------------------------------------------

def load(tmp_path: Path, text: str) -> Taxonomy:
    path = tmp_path / "rules.toml"
    path.write_text(text)
    return load_rules(path, "content/rules.toml")


def error(tmp_path: Path, text: str):
    with pytest.raises(BuildError) as caught:
        load(tmp_path, text)
    return caught.value.diagnostic


def test_missing_file_is_an_empty_taxonomy(tmp_path, seeds):
    taxonomy = load_rules(tmp_path / "nope.toml", "content/rules.toml")
    assert taxonomy.topics == () and taxonomy.hardware == ()
    result = classify(seeds[:3], taxonomy)
    assert (result.papers, result.unmatched, result.untagged) == (seeds[:3], (), ())


def test_toml_syntax_error_has_its_line(tmp_path):
    d = error(tmp_path, '[[topic]]\nname = "NeRF"\nmatch = ["nerf"\n')
    assert (d.file, d.line) == ("content/rules.toml", 3)
    assert "not valid TOML" in d.message


def test_invalid_regex_names_the_rule(tmp_path):
    d = error(tmp_path,
              '[[topic]]\nname = "NeRF"\n\n[[topic]]\nname = "Splats"\nregex = [\'(3dgs\']\n')
    assert d.line == 6
    assert "invalid regex in topic 'Splats'" in d.message


def test_unknown_key_has_its_line(tmp_path):
    d = error(tmp_path, '[[hardware]]\nname = "H100"\nmatches = ["H100"]\n')
    assert d.line == 3
    assert "unknown key 'matches' in hardware 'H100'" in d.message and "match" in d.message


def test_unknown_section(tmp_path):
    d = error(tmp_path, '[[topics]]\nname = "NeRF"\n')
    assert d.line == 1 and "unknown section 'topics'" in d.message


def test_parent_that_does_not_exist(tmp_path):
    d = error(tmp_path, '[[vendor]]\nname = "NVIDIA"\n\n[[hardware]]\nname = "H100"\n'
                        'architecture = "hoper"\nmatch = ["H100"]\n')
    assert d.line == 4
    assert "'hoper'" in d.message and "hardware 'H100'" in d.message


def test_parent_of_the_wrong_kind(tmp_path):
    d = error(tmp_path, '[[vendor]]\nname = "NVIDIA"\n\n[[hardware]]\nname = "H100"\n'
                        'architecture = "nvidia"\n')
    assert d.line == 4 and "which is a vendor, not an architecture" in d.message


def test_variant_cycle(tmp_path):
    d = error(tmp_path, '[[hardware]]\nname = "A"\nvariant_of = "b"\n\n'
                        '[[hardware]]\nname = "B"\nvariant_of = "a"\n')
    assert "circle" in d.message


def test_duplicate_slug_names_both(tmp_path):
    d = error(tmp_path, '[[topic]]\nname = "Neural radiance fields"\nslug = "nerf"\n\n'
                        '[[hardware]]\nname = "NeRF"\nmatch = ["x"]\n')
    assert d.line == 5
    assert "hardware 'NeRF'" in d.message and "topic 'Neural radiance fields' (line 1)" in d.message
    assert "'nerf'" in d.message


def test_ambiguous_needs_context(tmp_path):
    d = error(tmp_path, '[[architecture]]\nname = "Hopper"\nambiguous = ["Hopper"]\n')
    assert d.line == 3 and "context" in d.message


def test_wrong_types(tmp_path):
    d = error(tmp_path, '[[topic]]\nname = "NeRF"\nmatch = "nerf"\n')
    assert d.line == 3 and "list" in d.message
    d = error(tmp_path, '[[topic]]\nmatch = ["nerf"]\n')
    assert d.line == 1 and "name" in d.message


def test_rules_matching_nothing_warn_with_their_line(tmp_path):
    taxonomy = load(tmp_path, '[[topic]]\nname = "GPUs"\nmatch = ["GPU"]\n\n'
                              '[[topic]]\nname = "Quantum"\nmatch = ["qubit"]\n\n'
                              '[[vendor]]\nname = "NVIDIA"\n\n'
                              '[[hardware]]\nname = "H100"\nvendor = "nvidia"\nmatch = ["H100"]\n\n'
                              '[[hardware]]\nname = "TPU v5"\nmatch = ["TPU v5"]\n')
    result = classify([paper("Fast GPU", "It runs on an H100 GPU."), paper("Cats")], taxonomy)
    papers = result.papers
    assert [(w.file, w.line) for w in result.unmatched] == [("content/rules.toml", 5), ("content/rules.toml", 17)]
    assert "'Quantum' matches no paper" in result.unmatched[0].message
    assert [(w.file, w.line) for w in result.untagged] == [("listing.txt", 7)]
    assert "'Cats' has no topic" in result.untagged[0].message
    assert papers[0].topics == ("gpus",) and hardware(papers[0]) == {"h100": "H100"}


def test_topic_needs_the_title_or_two_mentions(tmp_path):
    taxonomy = load(tmp_path, '[[topic]]\nname = "NeRF"\nmatch = ["NeRF", "radiance field"]\n'
                              'exclude = ["NeRF-free"]\n')
    papers = classify([
        paper("A NeRF paper", "Nothing."),
        paper("Other", "Unlike NeRF, we splat."),
        paper("Other", "Unlike NeRF, we splat; our radiance field is fast."),
        paper("Other", "A NeRF-free method, unlike NeRF."),
    ], taxonomy).papers
    assert [p.topics for p in papers] == [("nerf",), (), ("nerf",), ()]


def test_classify_does_not_depend_on_order(seeds, taxonomy):
    shuffled = list(seeds)
    random.Random(3).shuffle(shuffled)
    a = classify(seeds, taxonomy).papers
    b = classify(shuffled, taxonomy).papers
    assert sorted(a, key=lambda p: p.slug) == sorted(b, key=lambda p: p.slug)


def test_a_context_word_is_found_inside_a_longer_one(taxonomy):
    """`Mac` and `MacBook` are both context of `M1`: the longer must be tried first."""
    assert tag(taxonomy, "It is 2x faster on a MacBook Air with an M1 today.").get("apple-m1") == "M1"
    assert tag(taxonomy, "It runs under macOS on an M2 today.").get("apple-m2") == "M2"


def test_a_class_named_as_a_prospect_is_not_hardware_used(taxonomy):
    assert tag(taxonomy, "Its small size makes it suitable for deployment on mobile phones and drones.") == {}
    assert tag(taxonomy, "Their memory needs hinder deployment on edge devices.") == {}
    assert tag(taxonomy, "Resource needs limit their\ndeployment on mobile and edge devices.") == {}
    # where the paper ran it, and models in any sentence, still count
    assert "embedded" in tag(taxonomy, "We deploy it on edge devices at 30 FPS.")
    assert "rtx-4090" in tag(taxonomy, "The model is suitable for deployment on an RTX 4090.")


def test_a_part_number_sits_under_the_model_it_begins_with(taxonomy):
    result = classify([paper("A paper", "We evaluate on the STM32F746G-DISCO and the Nucleo-F401RE boards.")],
                      taxonomy)
    found = {m.slug for m in result.papers[0].hardware}
    assert found == {"stmicroelectronics-stm32f746g", "stmicroelectronics-stm32f401"}
    assert [t.slug for t in result.taxonomy.ancestors("stmicroelectronics-stm32f746g")][:2] == [
        "stmicroelectronics-stm32f746", "stm32"]
    # a number does not begin a longer number: an A1000 is no A100
    assert "a100" not in {t.slug for t in result.taxonomy.ancestors("a1000")}
