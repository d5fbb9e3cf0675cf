"""Score the default rules on the evaluation sets: hardware models found, topics given.

    python -m tests.eval.score [dev|heldout|final] [--misses]

Each set is JSON lines of real papers (title and abstract verbatim from public arXiv metadata,
sources in SOURCES-*.md) labelled by hand: the hardware models each paper names as something it
used (`hardware`), look-alike words that are not hardware (`lookalikes`), and 1-3 topics. A
predicted model counts as right when its name, or that of a model family above it in the
hardware graph, matches a labelled one after folding case, punctuation and the vendor and brand
words (`NVIDIA GeForce RTX 4090` = `RTX 4090`; `Intel Core i7-1165G7` counts for `Intel Core i7`,
whose page lists it too). A label `Device (Chip)` is found by either name.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sitegen.listings import Source
from sitegen.papers import Paper
from sitegen.related import relate
from sitegen.taxonomy import Taxonomy, classify, infer_topics, load_rules

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SETS = ("dev", "heldout", "final")
_BRANDS = re.compile(r"\b(?:nvidia|geforce|tesla|amd|radeon|instinct|intel|apple|google|qualcomm|samsung|mediatek|"
                     r"huawei|arm|xilinx|amd xilinx|stmicroelectronics|espressif|nordic|meta|microsoft|aws|amazon|"
                     r"baidu|graphcore|cerebras|groq|sambanova|tenstorrent|raspberry pi ltd|habana|model b|"
                     r"bionic|generation|gpu|edition)\b")


def key(name: str) -> str:
    """A model's name folded for comparison: `NVIDIA GeForce RTX 4090 Laptop` -> `rtx4090mobile`."""
    name = name.lower().replace("laptop gpu", "mobile").replace("laptop", "mobile").replace("+", "plus")
    return re.sub(r"[^a-z0-9]", "", _BRANDS.sub(" ", name))


def load(name: str) -> list[dict]:
    return [json.loads(line) for line in (HERE / f"{name}.jsonl").read_text("utf-8").splitlines() if line.strip()]


def as_paper(record: dict) -> Paper:
    return Paper(slug=record["id"], key=record["id"], title=record["title"], abstract=record["abstract"],
                 published=date(2025, 1, 1), published_year_inferred=False, upvotes=None, authors_count=None,
                 organization=None, links=(), sources=(Source(record["id"], 1),), listings=())


@dataclass
class Score:
    """Counts for one set."""

    papers: int = 0
    gold: int = 0
    predicted: int = 0
    right: int = 0
    """Predicted models that are, or are a model of, a labelled one."""
    recalled: int = 0
    """Labelled models found, themselves or through a more specific model."""
    with_topic: int = 0
    no_hardware: int = 0
    no_hardware_tagged: int = 0
    """Papers labelled with no hardware given any hardware term (a class or architecture too)."""
    no_hardware_models: int = 0
    """Papers labelled with no hardware given a hardware model."""
    topic_hits: int = 0
    inferred: int = 0
    """Papers whose topics were inferred from similar papers."""
    misses: list[str] = field(default_factory=list)
    false: list[str] = field(default_factory=list)
    untagged: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.right / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.recalled / self.gold if self.gold else 1.0

    @property
    def topic_coverage(self) -> float:
        return self.with_topic / self.papers if self.papers else 1.0

    def line(self, name: str) -> str:
        return (f"{name:<8} {self.papers:>4} papers  hardware precision {self.precision:.3f} "
                f"({self.right}/{self.predicted})  recall {self.recall:.3f} ({self.recalled}/{self.gold})  "
                f"topic coverage {self.topic_coverage:.3f} ({self.with_topic}/{self.papers}, {self.inferred} inferred)  "
                f"a labelled topic among them {self.topic_hits}/{self.with_topic}  "
                f"no-hardware papers given a model {self.no_hardware_models}/{self.no_hardware}, "
                f"any hardware term {self.no_hardware_tagged}/{self.no_hardware}")


def score(records: list[dict], taxonomy: Taxonomy) -> Score:
    """Classify the records' papers with `taxonomy` and count against their labels."""
    classified = classify([as_paper(r) for r in records], taxonomy)
    taxonomy = classified.taxonomy
    papers = infer_topics(classified.papers, relate(classified.papers))
    result = Score(papers=len(records))
    for record, paper in zip(records, papers):
        # `Bitcraze AI-deck (GreenWaves GAP8)`: the device or the chip in brackets names it
        gold = {key(h["model"]): h["model"] for h in record["hardware"]}
        aliases = {key(m[1]): k for k in gold for m in [re.search(r"\(([^)]+)\)", gold[k])] if m}
        predicted = {}  # a model's key -> its name, what it was found as, and the keys it counts for
        for mention in paper.hardware:
            term = taxonomy.term(mention.slug)
            if term is not None and term.role == "model":
                # a model counts for itself and the model families above it: the paper is on their pages
                keys = {key(term.name)} | {key(a.name) for a in taxonomy.ancestors(term.slug) if a.role == "model"}
                predicted.setdefault(key(term.name), (term.name, mention.sentence[mention.start:mention.end], keys))
        predicted = {k: (name, text, keys | {aliases[a] for a in keys if a in aliases})
                     for k, (name, text, keys) in predicted.items()}
        found = set().union(*(keys for _, _, keys in predicted.values()))
        right = {k for k, (_, _, keys) in predicted.items() if keys & gold.keys()}
        result.gold += len(gold)
        result.predicted += len(predicted)
        result.right += len(right)
        result.recalled += len(gold.keys() & found)
        result.misses += [f"{record['id']}: missed {gold[k]!r}" for k in gold.keys() - found]
        result.false += [f"{record['id']}: {predicted[k][0]!r} from {predicted[k][1]!r}"
                         for k in predicted.keys() - right]
        if not record["hardware"]:  # any hardware term counts here, a class or vendor as well
            result.no_hardware += 1
            result.no_hardware_tagged += bool(paper.hardware)
            result.no_hardware_models += bool(predicted)
            result.false += [f"{record['id']}: names no hardware, given {m.slug!r} from "
                             f"{m.sentence[m.start:m.end]!r}" for m in paper.hardware if not predicted]
        if paper.topics or paper.inferred_topics:
            result.with_topic += 1
            result.inferred += bool(paper.inferred_topics)
            result.topic_hits += bool(set(paper.topics + paper.inferred_topics) & set(record["topics"]))
        else:
            result.untagged.append(f"{record['id']}: {record['title']!r} (labelled {record['topics']})")
    return result


def main(argv: list[str]) -> int:
    names = [a for a in argv if a in SETS] or list(SETS)
    taxonomy = load_rules(ROOT / "content" / "rules.toml", "content/rules.toml")
    for name in names:
        result = score(load(name), taxonomy)
        print(result.line(name))
        if "--misses" in argv:
            for line in result.misses + result.false + result.untagged:
                print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
