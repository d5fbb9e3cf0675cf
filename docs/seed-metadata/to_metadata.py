"""Write the seed papers' look-ups (meta_a.jsonl, meta_b.jsonl) into content/metadata.toml.

Run from the repository root: `python docs/seed-metadata/to_metadata.py`. Each record keeps a
pointer to its line here, where the sources and the checks made are recorded in full.
"""

import json
from pathlib import Path

from sitegen.metadata import METADATA_FILE, merge_records

CHECKED = "2026-12-04"
"""The day the look-ups were made (from public repositories and paper pages, by hand)."""


def records(path: Path):
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        found = json.loads(line)
        record = {"title": found["title"], "source": f"{path.as_posix()}:{number}", "checked": CHECKED}
        for key in ("arxiv", "version", "published", "category"):
            if found.get(key):
                record[key] = found[key]
        if found.get("authors"):
            record["authors"] = found["authors"]
        if not found.get("arxiv"):
            record["status"] = found["status"]
            if found.get("candidates"):
                record["candidates"] = found["candidates"]
        yield record


if __name__ == "__main__":
    here = Path("docs/seed-metadata")
    written = merge_records(Path(METADATA_FILE), [r for name in ("meta_a.jsonl", "meta_b.jsonl")
                                                  for r in records(here / name)], label=str(here))
    print(f"{METADATA_FILE}: {len(written)} entries, "
          f"{sum(1 for e in written.values() if e.arxiv)} with an arXiv id, "
          f"{sum(1 for e in written.values() if e.authors)} with authors")
