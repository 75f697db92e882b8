#!/usr/bin/env python3
"""The only producer of longmem's golden files (tests/data/goldens/).

Runs the generator modules in tests/tools/goldens/ (model, quant, tokenizer, grads) with Hugging Face
transformers/tokenizers and gguf from PyPI as the independent reference. If the running Python
lacks those packages, it creates a venv (default <repo>/.venv-goldens, or --venv, or
$LM_GOLDEN_VENV), pip-installs the pinned versions there and re-executes itself inside it.

    python3 tests/tools/gen_goldens.py                       # everything
    python3 tests/tools/gen_goldens.py --only quant,tokenizer
    /work/venv-goldens/bin/python tests/tools/gen_goldens.py # use an existing env as is
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TOOLS = Path(__file__).resolve().parent
DEFAULT_OUT = REPO / "tests" / "data" / "goldens"
DEFAULT_MODEL = REPO / "models" / "smollm2-135m-instruct-q4_1.gguf"
ALL_MODULES = ("model", "quant", "tokenizer", "hf_tiny", "grads")

# Import names of the packages the generators need (accelerate: transformers requires it
# to load GGUF files). Versions are pinned in goldens/common.py.
REQUIRED_IMPORTS = ("torch", "transformers", "tokenizers", "gguf", "numpy", "sentencepiece", "accelerate")


def have_packages() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in REQUIRED_IMPORTS)


def pinned_requirements() -> list[str]:
    # Read the pins without importing the package (goldens/__init__ is import-safe, but the
    # venv bootstrap must not depend on numpy etc. being importable here).
    spec = importlib.util.spec_from_file_location("_lm_golden_common", TOOLS / "goldens" / "common.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return [f"{k}=={v}" for k, v in mod.PINNED_PACKAGES.items()]


def ensure_environment(args) -> None:
    """Re-exec inside a venv with the pinned packages unless this Python already has them."""
    if have_packages():
        return
    if os.environ.get("LM_GOLDEN_REEXEC"):
        sys.exit("gen_goldens: packages still missing inside the venv; check the pip output above")
    venv = Path(args.venv or os.environ.get("LM_GOLDEN_VENV") or REPO / ".venv-goldens")
    py = venv / "bin" / "python"
    if not py.exists():
        print(f"gen_goldens: creating venv {venv}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    probe = "import " + ",".join(REQUIRED_IMPORTS)
    if subprocess.run([str(py), "-c", probe], capture_output=True).returncode != 0:
        reqs = pinned_requirements()
        print(f"gen_goldens: pip install {' '.join(reqs)}", flush=True)
        subprocess.run([str(py), "-m", "pip", "install", "--upgrade", "pip"], check=True)
        subprocess.run([str(py), "-m", "pip", "install", *reqs], check=True)
    env = dict(os.environ, LM_GOLDEN_REEXEC="1")
    env.setdefault("LM_GOLDEN_COMMAND", original_command())
    os.execve(str(py), [str(py), str(Path(__file__).resolve()), *sys.argv[1:]], env)


def original_command() -> str:
    script = os.path.relpath(Path(__file__).resolve(), REPO)
    return shlex.join(["python3", script, *sys.argv[1:]])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default=",".join(ALL_MODULES),
                    help=f"comma-separated subset of {','.join(ALL_MODULES)}")
    ap.add_argument("--out", default=str(DEFAULT_OUT), help="output folder (default tests/data/goldens)")
    ap.add_argument("--model", default=str(DEFAULT_MODEL), help="GGUF model for the model/tokenizer goldens")
    ap.add_argument("--text", default=None,
                    help="plain-text file for the perplexity goldens and long prompt (default: KJV "
                         "Genesis extracted once into the output folder with Debian's `bible`)")
    ap.add_argument("--venv", default=None, help="venv to create/use when this Python lacks the packages")
    args = ap.parse_args()

    only = [m.strip() for m in args.only.split(",") if m.strip()]
    unknown = [m for m in only if m not in ALL_MODULES]
    if unknown:
        ap.error(f"unknown module(s) {unknown}; choose from {ALL_MODULES}")

    ensure_environment(args)
    os.environ.setdefault("LM_GOLDEN_COMMAND", original_command())

    sys.path.insert(0, str(TOOLS))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model_path = Path(args.model)
    failed = []
    for name in only:
        if importlib.util.find_spec(f"goldens.{name}") is None:
            print(f"gen_goldens: goldens/{name}.py not present, skipped", flush=True)
            continue
        mod = importlib.import_module(f"goldens.{name}")
        t0 = time.time()
        print(f"gen_goldens: running goldens.{name}", flush=True)
        try:
            if name == "model":
                text = Path(args.text) if args.text else mod.extract_kjv_text(out)
                mod.generate(out, model_path, text)
            elif name in ("tokenizer", "grads"):
                mod.generate(out, model_path)
            else:
                mod.generate(out)
        except Exception as exc:  # keep going so one broken generator doesn't block the others
            import traceback
            traceback.print_exc()
            failed.append(f"{name}: {exc}")
            continue
        print(f"gen_goldens: goldens.{name} done in {time.time() - t0:.0f} s", flush=True)
    if failed:
        print("gen_goldens: FAILED: " + "; ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
