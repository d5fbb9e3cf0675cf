"""The default rules on real papers they were not written for (tests/eval, sources in
SOURCES-*.md): hardware models found with precision >= 0.95 and recall >= 0.90, a topic for at
least 95% of papers, and no model for a paper that names none. `final` is the held-out set."""

from __future__ import annotations

import pytest

from sitegen.taxonomy import load_rules
from tests.eval.score import ROOT, SETS, load, score


@pytest.fixture(scope="module")
def taxonomy():
    return load_rules(ROOT / "content" / "rules.toml", "content/rules.toml")


@pytest.mark.parametrize("name", SETS)
def test_the_default_rules_meet_the_targets_on_real_papers(name, taxonomy) -> None:
    result = score(load(name), taxonomy)
    print(result.line(name))
    assert len(load(name)) >= 100
    assert result.precision >= 0.95, result.line(name) + "\n" + "\n".join(result.false)
    assert result.recall >= 0.90, result.line(name) + "\n" + "\n".join(result.misses)
    assert result.topic_coverage >= 0.95, result.line(name) + "\n" + "\n".join(result.untagged)
    assert result.no_hardware_models == 0, result.line(name)
    assert result.no_hardware >= 30  # the sets hold papers with look-alike words and no hardware
