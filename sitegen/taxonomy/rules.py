"""The rule file (`content/rules.toml`) -> a Taxonomy: terms, their graph and what finds each.

A rule is a [[topic]], or for hardware a [[hardware]] (a model), [[architecture]], [[vendor]] or
[[class]]. A [[hardware]] rule with `models = [...]` stands for one model per entry, each found by
its `match` phrases with `{}` replaced (`iPhone {}` with `15 Pro`). With `[catalogue] gpus = true`,
every GPU of the GPU catalogue (`catalogue.py`) is a model too; a rule with a catalogue GPU's
slug takes its place and its specifications.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

from ..diagnostics import BuildError
from ..papers import slugify
from .catalogue import Catalogue, gpu_catalogue
from .phrases import Matcher, compile_phrases, phrase, runs
from .terms import Term, Taxonomy

SECTIONS = {"topic": "topic", "vendor": "vendor", "architecture": "architecture",
            "class": "class", "hardware": "model"}
"""Table name in the rule file -> role of its terms (`topic` for topics)."""
PARENT_KEYS = {"variant_of": "model", "architecture": "architecture", "vendor": "vendor",
               "class": "class"}
"""Keys that name a parent term, with the role the parent must have."""
ALLOWED_PARENTS = {"model": ("variant_of", "architecture", "vendor", "class"),
                   "architecture": ("vendor", "class"), "vendor": (), "class": (), "topic": ()}
COMMON_KEYS = ("name", "slug", "description", "match", "ambiguous", "context", "regex", "exclude")
FAMILY_KEYS = ("specific", "specific_name")
"""A model or architecture rule that finds its models by a pattern (`STM32H753ZI`, `Core i7-1165G7`)."""
CATALOGUE_KEYS = ("gpus",)


# --- loading -------------------------------------------------------------------------------

_HEADER = re.compile(r"^[ \t]*\[\[[ \t]*([A-Za-z_]+)[ \t]*\]\]", re.MULTILINE)


def load_rules(path: Path, shown_path: str) -> Taxonomy:
    """Read and check a rule file; a missing file gives an empty taxonomy."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Taxonomy(source=shown_path)
    except (OSError, UnicodeDecodeError) as e:
        raise BuildError(shown_path, 0, f"cannot read the rule file ({e}); save it as UTF-8 text")
    return parse_rules(text, shown_path)


@lru_cache(maxsize=2)
def parse_rules(text: str, shown_path: str) -> Taxonomy:
    """The taxonomy of a rule file's text; a BuildError says what is wrong where.

    A pure function, so its last results are kept: the preview server's rebuilds get the same
    Taxonomy while the rules are unchanged (compiling 500 rules takes 15-25 ms).
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        found = re.search(r"at line (\d+)", str(e))
        line = int(found.group(1)) if found else len(text.rstrip().splitlines())
        message = re.sub(r"\s*\(at (?:line \d+, column \d+|end of document)\)", "", str(e))
        raise BuildError(shown_path, line,
                         f"not valid TOML: {message}; see the comment at the top of "
                         "content/rules.toml for the format") from None
    header_lines: dict[str, list[int]] = {}
    for m in _HEADER.finditer(text):
        header_lines.setdefault(m.group(1), []).append(text.count("\n", 0, m.start()) + 1)
    lines = text.splitlines()

    rules: list[tuple[int, str, dict]] = []
    use_catalogue = False
    for section, value in data.items():
        if section == "catalogue" and isinstance(value, dict):
            use_catalogue = _catalogue_setting(value, lines, shown_path)
            continue
        if section not in SECTIONS or not isinstance(value, list):
            raise BuildError(shown_path, _key_line(lines, section, 0, len(lines)),
                             f"unknown section {section!r}; use [[topic]], [[hardware]], "
                             "[[architecture]], [[vendor]], [[class]] or [catalogue]")
        for i, rule in enumerate(value):
            found = header_lines.get(section, [])
            rules.append((found[i] if i < len(found) else 0, SECTIONS[section], rule))
    rules.sort(key=lambda r: r[0])
    ends = {start: (rules[i + 1][0] if i + 1 < len(rules) else len(lines) + 1)
            for i, (start, _, _) in enumerate(rules)}

    terms: list[Term] = []
    matchers: list[Matcher] = []
    slugs: dict[str, Term] = {}
    parent_keys: dict[str, list[str]] = {}
    for line, role, rule in rules:
        for term, matcher in _compile_rule(rule, role, line, ends[line], lines, shown_path):
            if term.slug in slugs:
                other = slugs[term.slug]
                raise BuildError(shown_path, line,
                                 f"{_describe(term)} and {_describe(other)} (line {other.line}) both "
                                 f"have the slug {term.slug!r}; give one of them another `slug`")
            slugs[term.slug] = term
            parent_keys[term.slug] = _parent_keys_of(rule, role)
            terms.append(term)
            matchers.append(matcher)
    for term in terms:
        for parent in term.parents:
            if parent not in slugs:
                raise BuildError(shown_path, term.line,
                                 f"{_describe(term)} names {parent!r} as a parent, but no rule has "
                                 "that slug; fix the spelling or add the rule")
    for term in terms:
        for key, parent in zip(parent_keys[term.slug], term.parents):
            want = PARENT_KEYS[key]
            if slugs[parent].role != want:
                raise BuildError(shown_path, term.line,
                                 f"{_describe(term)} has {key} = {parent!r}, which is a "
                                 f"{slugs[parent].role}, not a{'n' if want[0] in 'aeiou' else ''} "
                                 f"{want}; point it at a [[{_section_of(want)}]] rule")
    _check_cycles(terms, slugs, shown_path)
    digest = hashlib.sha256(text.encode())
    catalogue = gpu_catalogue() if use_catalogue else None
    if catalogue is not None:
        terms, matchers = _with_catalogue(terms, matchers, catalogue)
        digest.update(catalogue.version.encode())
    return Taxonomy(
        topics=tuple(t for t in terms if t.kind == "topic"),
        hardware=tuple(t for t in terms if t.kind == "hardware"),
        source=shown_path,
        digest=digest.hexdigest(),
        matchers=tuple(matchers),
    )


def _catalogue_setting(table: dict, lines: list[str], shown: str) -> bool:
    """`[catalogue] gpus = true`: whether the GPU catalogue's models are terms too."""
    for key, value in table.items():
        if key not in CATALOGUE_KEYS or not isinstance(value, bool):
            raise BuildError(shown, _key_line(lines, key, 0, len(lines)),
                             f"[catalogue] takes only `gpus = true` or `gpus = false`, not {key!r}")
    return table.get("gpus", False)


def _with_catalogue(terms: list[Term], matchers: list[Matcher], catalogue: Catalogue
                    ) -> tuple[list[Term], list[Matcher]]:
    """The rules' terms and the catalogue's, the rules' first: a rule with a catalogue GPU's slug
    is that GPU (with its specifications), and the catalogue's vendors, architectures and
    classes are added where the rules lack them."""
    slugs = {term.slug: i for i, term in enumerate(terms)}
    terms, matchers = list(terms), list(matchers)
    for extra in (*catalogue.classes, *catalogue.vendors, *catalogue.architectures):
        if extra.slug not in slugs:
            slugs[extra.slug] = len(terms)
            terms.append(extra)
    for term, matcher in catalogue.models:
        if term.slug in slugs:
            i = slugs[term.slug]
            if terms[i].role == "model":
                terms[i] = replace(terms[i], specs=term.specs)
                for j, rule in enumerate(matchers):
                    if rule.term.slug == term.slug:
                        matchers[j] = replace(rule, term=terms[i])
            continue
        slugs[term.slug] = len(terms)
        terms.append(term)
        matchers.append(matcher)
    return terms, matchers


def _compile_rule(rule: dict, role: str, line: int, end: int, lines: list[str],
                  shown: str) -> list[tuple[Term, Matcher]]:
    """The term of a rule and what finds it; a [[hardware]] rule with `models` gives one per model."""
    section = _section_of(role)
    allowed = (COMMON_KEYS + ALLOWED_PARENTS[role] + (("models",) if role == "model" else ())
               + (FAMILY_KEYS if role in ("model", "architecture") else ()))
    name = rule.get("name")
    label = f"{section} {name!r}" if isinstance(name, str) else f"[[{section}]] rule"
    for key in rule:
        if key not in allowed:
            raise BuildError(shown, _key_line(lines, key, line, end),
                             f"unknown key {key!r} in {label}; allowed keys: {', '.join(allowed)}")
    if not isinstance(name, str) or not name.strip():
        raise BuildError(shown, line, f"{label} needs a `name = \"...\"`")

    def text_of(key: str) -> str:
        value = rule.get(key, "")
        if not isinstance(value, str):
            raise BuildError(shown, _key_line(lines, key, line, end),
                             f"`{key}` of {label} must be a string in quotes")
        return value

    def list_of(key: str) -> list[str]:
        value = rule.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise BuildError(shown, _key_line(lines, key, line, end),
                             f"`{key}` of {label} must be a list of non-empty strings, "
                             f"like {key} = [\"one\", \"two\"]")
        return value

    models = list_of("models")
    if models:
        if "{}" not in name or any("{}" not in p for p in list_of("match") + list_of("ambiguous")):
            raise BuildError(shown, _key_line(lines, "models", line, end),
                             f"{label} has `models`, so its name and every `match` and `ambiguous` "
                             "phrase must hold `{}` where the model goes, like name = \"Apple iPhone {}\", "
                             "match = [\"iPhone {}\"]")
        if rule.get("slug"):
            raise BuildError(shown, _key_line(lines, "slug", line, end),
                             f"{label} has `models`: each model's slug comes from its name; remove `slug`")
        found = []
        for model in models:
            one = {key: ([v.replace("{}", model) for v in value] if key in ("match", "ambiguous")
                         else [v.replace("{}", re.escape(model)) for v in value] if key == "specific"
                         else value.replace("{}", model) if key == "name" else value)
                   for key, value in rule.items() if key != "models"}
            one["slug"] = slugify(one["name"].replace("+", " plus"))  # `8+ Gen 1` is not `8 Gen 1`
            found += _compile_rule(one, role, line, end, lines, shown)
        return found
    slug = text_of("slug") or slugify(name)
    if slug != slugify(slug) or not slug:
        raise BuildError(shown, _key_line(lines, "slug", line, end),
                         f"slug {slug!r} of {label} is not a usable URL segment; "
                         "use lower-case letters, digits and dashes, like "
                         f"{slugify(name) or 'my-term'!r}")
    parents = tuple(slugify(text_of(k)) for k in _parent_keys_of(rule, role))
    term = Term(slug=slug, name=name.strip(), kind="topic" if role == "topic" else "hardware",
                description=text_of("description").strip(), role=role, parents=parents, line=line)

    strong, weak = list_of("match"), list_of("ambiguous")
    context = list_of("context")
    if weak and not context:
        raise BuildError(shown, _key_line(lines, "ambiguous", line, end),
                         f"{label} has `ambiguous` phrases but no `context`; add the words that "
                         "must appear in the same sentence, like context = [\"GPU\"]")
    for key in ("match", "ambiguous", "context", "exclude"):
        for text in list_of(key):
            if not runs(text):
                raise BuildError(shown, _key_line(lines, key, line, end),
                                 f"phrase {text!r} in `{key}` of {label} has no letters or "
                                 "digits; remove it")
    regex = None
    if list_of("regex"):
        try:
            regex = re.compile("|".join(f"(?:{r})" for r in list_of("regex")), re.IGNORECASE)
        except re.error as e:
            raise BuildError(shown, _key_line(lines, "regex", line, end),
                             f"invalid regex in {label}: {e}; check the brackets and escapes "
                             "(in TOML, write regexes in single quotes)") from None
    specific = None
    if list_of("specific"):
        try:
            specific = re.compile("|".join(f"(?:{r})" for r in list_of("specific")))
        except re.error as e:
            raise BuildError(shown, _key_line(lines, "specific", line, end),
                             f"invalid regex in `specific` of {label}: {e}; check the brackets and escapes "
                             "(in TOML, write regexes in single quotes)") from None
        if specific.groups < 1 or "{}" not in text_of("specific_name"):
            raise BuildError(shown, _key_line(lines, "specific", line, end),
                             f"{label} has `specific`: its regex needs a group (...) around the model's own "
                             "part and `specific_name` a `{}` where it goes, like specific_name = \"Intel Core {}\"")
    phrases = tuple(phrase(p, ambiguous) for ambiguous, group in ((False, strong), (True, weak)) for p in group)
    matcher = Matcher(term=term, phrases=phrases, context=compile_phrases(tuple(context)),
                      exclude=compile_phrases(tuple(list_of("exclude"))), regex=regex, specific=specific,
                      specific_name=text_of("specific_name"))
    return [(term, matcher)]


def _parent_keys_of(rule: dict, role: str) -> list[str]:
    return [k for k in ALLOWED_PARENTS[role] if rule.get(k)]


def _check_cycles(terms: list[Term], slugs: dict[str, Term], shown: str) -> None:
    for term in terms:
        path, current = [term.slug], term
        while current.role == "model" and current.parents and \
                slugs[current.parents[0]].role == "model":
            current = slugs[current.parents[0]]
            if current.slug in path:
                raise BuildError(shown, term.line,
                                 f"{_describe(term)}: variant_of goes round in a circle "
                                 f"({' -> '.join(path + [current.slug])}); remove one variant_of")
            path.append(current.slug)


def _describe(term: Term) -> str:
    return f"{_section_of(term.role)} {term.name!r}"


def _section_of(role: str) -> str:
    return "hardware" if role == "model" else role


def _key_line(lines: list[str], key: str, start: int, end: int) -> int:
    """Line of `key = ...` (or `[key`) inside lines start..end-1, else `start`."""
    pattern = re.compile(rf"^\s*(?:{re.escape(key)}\s*=|\[+\s*{re.escape(key)}\b)")
    for number in range(max(start, 1), min(end, len(lines) + 1)):
        if pattern.match(lines[number - 1]):
            return number
    return start


