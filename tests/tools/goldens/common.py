"""Shared helpers for golden generators: provenance records, hashing and file writers.

Every golden file carries a `provenance` object (generator command, Python and package
versions) so that a failing C++ test can tell whether the reference itself changed.
Binary sidecars are raw little-endian float32 arrays (C order, no header); the JSON that
references them gives shape, dtype and sha256 so readers need no format library.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shlex
import sys
from importlib import metadata
from pathlib import Path

# Pinned versions the goldens were produced with. The driver installs exactly these into a
# fresh venv; a different version may shift logits in the last bits, so the versions are
# recorded in every file rather than trusted.
PINNED_PACKAGES = {
    "torch": "2.15.0",
    "transformers": "5.23.0",
    "tokenizers": "0.23.3",
    "gguf": "0.19.0",
    "numpy": "2.4.6",
    "sentencepiece": "0.2.3",
    # transformers refuses to load GGUF files without accelerate installed.
    "accelerate": "1.15.0",
}

REPO_ROOT = Path(__file__).resolve().parents[3]


def package_versions() -> dict[str, str | None]:
    """Versions actually installed (not the pins), so the record is the truth."""
    out: dict[str, str | None] = {}
    for name in PINNED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def command_line() -> str:
    """The command that produced the goldens, as the user typed it.

    The driver may re-exec itself inside a venv; it stores the original command in
    LM_GOLDEN_COMMAND so the record shows what a developer should run, not the re-exec.
    """
    cmd = os.environ.get("LM_GOLDEN_COMMAND")
    if cmd:
        return cmd
    argv = list(sys.argv)
    try:
        argv[0] = os.path.relpath(argv[0], REPO_ROOT)
    except ValueError:
        pass
    return shlex.join(["python3"] + argv)


def provenance(**extra) -> dict:
    rec = {
        "generator": "tests/tools/gen_goldens.py",
        "command": command_line(),
        "python": platform.python_version(),
        "packages": package_versions(),
        "note": "generated file; do not edit by hand, rerun the command instead",
    }
    rec.update(extra)
    return rec


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def rel_to_repo(path: str | os.PathLike) -> str:
    """Repo-relative path when inside the repo (stable across checkouts), else absolute."""
    p = Path(path).resolve()
    try:
        return str(p.relative_to(REPO_ROOT))
    except ValueError:
        return str(p)


def write_f32(out_dir: str | os.PathLike, name: str, array) -> dict:
    """Write `array` as little-endian float32 and return the JSON descriptor for it."""
    import numpy as np

    a = np.ascontiguousarray(np.asarray(array, dtype="<f4"))
    data = a.tobytes()
    Path(out_dir, name).write_bytes(data)
    return {
        "file": name,
        "dtype": "f32le",
        "shape": list(a.shape),
        "offset_bytes": 0,
        "sha256": sha256_bytes(data),
    }


def _is_scalar_list(v) -> bool:
    return isinstance(v, list) and all(isinstance(x, (int, float, str, bool)) or x is None for x in v)


def _dump(v, indent: int, level: int) -> str:
    # Lists of scalars stay on one line (token ids would otherwise take thousands of lines);
    # everything else is indented so diffs of regenerated goldens stay readable.
    pad = " " * (indent * (level + 1))
    end = " " * (indent * level)
    if isinstance(v, dict):
        if not v:
            return "{}"
        items = [f"{pad}{json.dumps(str(k))}: {_dump(x, indent, level + 1)}" for k, x in v.items()]
        return "{\n" + ",\n".join(items) + "\n" + end + "}"
    if isinstance(v, list) and v and not _is_scalar_list(v):
        items = [pad + _dump(x, indent, level + 1) for x in v]
        return "[\n" + ",\n".join(items) + "\n" + end + "]"
    return json.dumps(v, ensure_ascii=False)


def write_json(out_dir: str | os.PathLike, name: str, obj) -> Path:
    path = Path(out_dir, name)
    path.write_text(_dump(obj, 1, 0) + "\n", encoding="utf-8")
    return path
