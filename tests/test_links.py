"""Links in abstracts: debris from the copy is cut, the kind is recognised."""

import pytest

from sitegen.links import classify_url, find_links


@pytest.mark.parametrize(("text", "url"), [
    ("Code: https://github.com/williambrach/gqr.", "https://github.com/williambrach/gqr"),
    ("see https://github.com/pavlyhalim/GPPerf].", "https://github.com/pavlyhalim/GPPerf"),
    ("at https://github.com/NUS-HPC-AI-Lab/Recurrent-Parameter-Generation{here}.",
     "https://github.com/NUS-HPC-AI-Lab/Recurrent-Parameter-Generation"),
    ("page https://dnmp.github.io/{https://dnmp.github.io/}.", "https://dnmp.github.io/"),
    ("(code: https://github.com/MikolajZielinski/genie)", "https://github.com/MikolajZielinski/genie"),
    ("https://en.wikipedia.org/wiki/Mercury_(planet).", "https://en.wikipedia.org/wiki/Mercury_(planet)"),
    ("https://trianglesplatting.github.io/", "https://trianglesplatting.github.io/"),
])
def test_debris_is_cut(text: str, url: str) -> None:
    (link,) = find_links(text)
    assert link.url == url
    assert text[link.start:link.end] == url


@pytest.mark.parametrize(("url", "kind"), [
    ("https://github.com/NVIDIA/NeMo-Aligner", "code"),
    ("https://b-61j.pages.dev/datasets/nvidia/HelpSteer2", "dataset"),
    ("https://b-61j.pages.dev/nvidia/AceReason-Nemotron-1.1-7B", "model"),
    ("https://huggingface.co/spaces/x/y", "demo"),
    ("https://www.youtube.com/watch?v=gDVf_Ngeghg", "video"),
    ("https://arxiv.org/abs/2401.00001", "paper"),
    ("https://vcai.mpi-inf.mpg.de/projects/NeuS2/", "project"),
])
def test_kinds(url: str, kind: str) -> None:
    assert classify_url(url) == kind


@pytest.mark.parametrize("text", [
    "javascript:alert(1)", "JaVa&#x09;script:alert(1)", "ftp://example.org/x", "http://[::1",
    "https://", "see http://localhost/",
])
def test_only_real_http_links(text: str) -> None:
    assert find_links(text) == []
