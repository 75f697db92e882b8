"""Model goldens for SmolLM2-135M-Instruct (Q4_1 GGUF) computed with Hugging Face transformers.

transformers dequantises the GGUF to float32 and runs its own Llama implementation, which is
independent of longmem's C++ code: same weights, different code. Outputs (in out_dir):

  model_smollm2.json                 prompts, token ids, top-10, greedy continuations, checks
  model_smollm2_<prompt>_*.f32       raw little-endian float32 logits / activations
  ppl_kjv_ctx2048.json, ppl_kjv_ctx512.json   llama.cpp-style perplexity reference
  ppl_kjv_genesis.txt                the text the perplexity and long prompt use (when extracted
                                     here from Debian's bible-kjv-text; see extract_kjv_text)
"""

from __future__ import annotations

import copy
import math
import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import torch

from . import common

MODEL_JSON = "model_smollm2.json"
KJV_TEXT_NAME = "ppl_kjv_genesis.txt"

N_GREEDY = 64
N_TOP = 10
LONG_PROMPT_MIN_TOKENS = 1024
# Kept short on purpose: its logits are stored for every position (T x 49152 x 4 bytes),
# which dominates the golden size; 8 positions still exercise batched prefill and the mask.
PLAIN_PROMPT = "Once upon a time, there was a"
CHAT_QUESTION = "What is the capital of France?"
# Perplexity settings: (n_ctx, n_chunk). 16 x 2048 = 32768 tokens is the main reference;
# 16 x 512 is cheap enough for a fast C++ test.
PPL_RUNS = [(2048, 16), (512, 16)]


def log(msg: str) -> None:
    print(f"[goldens/model] {msg}", flush=True)


# --------------------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------------------

def extract_kjv_text(out_dir: str | os.PathLike) -> Path:
    """Return the KJV text file used for perplexity, extracting it once if needed.

    Debian's bible-kjv-text installs only a compressed database (/usr/lib/bible.data), readable
    through the `bible` program from bible-kjv. We extract the Book of Genesis (~205 kB, ~50k
    tokens: enough for 16 windows of 2048) with one verse per line (-l1000 keeps the line
    width independent of $COLUMNS) and keep the result beside the goldens, so the C++ tests
    read the exact same bytes without needing the bible program.
    """
    path = Path(out_dir, KJV_TEXT_NAME)
    if path.exists():
        return path
    exe = shutil.which("bible")
    if exe is None:
        raise RuntimeError(
            f"{path} is missing and the `bible` program is not installed; "
            "install Debian packages bible-kjv and bible-kjv-text, or pass --text FILE")
    text = subprocess.run([exe, "-l1000", "gen1:1-gen50:26"], check=True, capture_output=True,
                          env={**os.environ, "LC_ALL": "C"}).stdout
    path.write_bytes(text)
    log(f"extracted {len(text)} bytes of KJV Genesis into {path}")
    return path


# --------------------------------------------------------------------------------------
# Loading and checks
# --------------------------------------------------------------------------------------

def load_model_and_tokenizer(model_path: Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(model_path.parent), gguf_file=model_path.name)
    model = AutoModelForCausalLM.from_pretrained(str(model_path.parent), gguf_file=model_path.name,
                                                 dtype=torch.float32)
    model.eval()
    return model, tok


def make_encoder(tok):
    """Tokenizer matching llama.cpp's `smollm` pre-tokenizer, plus an agreement check.

    transformers' GGUF converter gives the tokenizer a plain GPT-2 ByteLevel pre-tokenizer,
    while SmolLM2's tokenizer.json (and llama.cpp's LLAMA_VOCAB_PRE_TYPE_SMOLLM) first split
    every digit. The vocabulary has no multi-character token containing a digit, yet the two
    still differ on whitespace before a number: "\n\n  1" pre-splits as ["\n\n ", " 1"]
    without the Digits step and ["\n\n  ", "1"] with it (KJV verse lines hit exactly this).
    llama.cpp splits \p{N} first, so we encode with the faithful tokenizer and record where the
    converted one disagrees.
    """
    from tokenizers import Tokenizer, pre_tokenizers

    converted = Tokenizer.from_str(tok.backend_tokenizer.to_str())
    faithful = Tokenizer.from_str(tok.backend_tokenizer.to_str())
    faithful.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
    ])
    disagreements: dict[str, dict] = {}

    def encode(text: str, label: str | None = None) -> list[int]:
        # add_special_tokens=False is exact here: the GGUF says add_bos=false, and special
        # tokens written in the text (<|im_start|> ...) are still matched as added tokens.
        ids = faithful.encode(text, add_special_tokens=False).ids
        if label is not None:
            other = converted.encode(text, add_special_tokens=False).ids
            if other != ids:
                first = next((i for i, (a, b) in enumerate(zip(ids, other)) if a != b),
                             min(len(ids), len(other)))
                disagreements[label] = {"n_tokens": len(ids), "n_tokens_converted": len(other),
                                        "first_diff_index": first}
        return ids

    return encode, disagreements


def unpermute_rope_rows(w: np.ndarray, n_head: int) -> np.ndarray:
    """Undo llama.cpp's convert-time Q/K row permutation.

    convert_hf_to_gguf reorders each head's rows from HF's "rotate_half" layout (pairs i and
    i + D/2) to interleaved pairs (2i, 2i + 1), because ggml's LLAMA rope rotates adjacent
    elements. HF therefore has to invert it when loading a GGUF; this is that inverse, written
    independently from transformers' loader, so the check below catches a wrong layout.
    """
    out_dim = w.shape[0]
    half = out_dim // n_head // 2
    return w.reshape(n_head, half, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def hf_name_for(gguf_name: str) -> str | None:
    table = {
        "token_embd.weight": "model.embed_tokens.weight",
        "output_norm.weight": "model.norm.weight",
        "output.weight": "lm_head.weight",
    }
    if gguf_name in table:
        return table[gguf_name]
    if not gguf_name.startswith("blk."):
        return None
    _, layer, rest = gguf_name.split(".", 2)
    sub = {
        "attn_norm.weight": "input_layernorm.weight",
        "ffn_norm.weight": "post_attention_layernorm.weight",
        "attn_q.weight": "self_attn.q_proj.weight",
        "attn_k.weight": "self_attn.k_proj.weight",
        "attn_v.weight": "self_attn.v_proj.weight",
        "attn_output.weight": "self_attn.o_proj.weight",
        "ffn_gate.weight": "mlp.gate_proj.weight",
        "ffn_up.weight": "mlp.up_proj.weight",
        "ffn_down.weight": "mlp.down_proj.weight",
    }.get(rest)
    return f"model.layers.{layer}.{sub}" if sub else None


def check_weights(model, model_path: Path) -> dict:
    """Compare every HF parameter with an independent dequantisation of the GGUF tensor.

    Must be exact (max |diff| == 0): both sides dequantise the same blocks in float32.
    Q/K must match only after undoing llama.cpp's permutation, and must NOT match without it
    (otherwise the permutation handling would be untested).
    """
    from gguf import GGUFReader
    from gguf.quants import dequantize

    reader = GGUFReader(str(model_path))
    n_head = int(reader.fields["llama.attention.head_count"].contents())
    n_head_kv = int(reader.fields["llama.attention.head_count_kv"].contents())
    params = dict(model.named_parameters(remove_duplicate=False))
    types: dict[str, int] = {}
    max_diff = 0.0
    qk_raw_diff = math.inf
    unmapped = []
    for t in reader.tensors:
        types[t.tensor_type.name] = types.get(t.tensor_type.name, 0) + 1
        name = hf_name_for(t.name)
        if name is None or name not in params:
            unmapped.append(t.name)
            continue
        w = np.asarray(dequantize(t.data, t.tensor_type), dtype=np.float32)
        w = w.reshape(params[name].shape)
        hf = params[name].detach().cpu().numpy()
        if t.name.endswith("attn_q.weight") or t.name.endswith("attn_k.weight"):
            heads = n_head if "attn_q" in t.name else n_head_kv
            qk_raw_diff = min(qk_raw_diff, float(np.abs(hf - w).max()))
            w = unpermute_rope_rows(w, heads)
        max_diff = max(max_diff, float(np.abs(hf - w).max()))
    tied = "output.weight" not in [t.name for t in reader.tensors]
    if tied:
        # No output.weight in the file: lm_head must be the token embedding (Q8_0).
        emb = params["model.embed_tokens.weight"].detach()
        max_diff = max(max_diff, float((params["lm_head.weight"].detach() - emb).abs().max()))
    result = {
        "n_tensors": len(reader.tensors),
        "tensor_types": dict(sorted(types.items())),
        "unmapped": unmapped,
        "max_abs_diff_hf_vs_gguf_dequant": max_diff,
        "qk_min_abs_diff_without_unpermute": qk_raw_diff,
        "lm_head_tied_to_token_embd": tied,
    }
    if unmapped or max_diff != 0.0 or not qk_raw_diff > 0.0:
        raise RuntimeError(f"GGUF weight check failed: {result}")
    return result


# --------------------------------------------------------------------------------------
# Forward passes
# --------------------------------------------------------------------------------------

@torch.no_grad()
def forward_logits(model, ids: list[int], keep_all: bool = False) -> torch.Tensor:
    x = torch.tensor([ids], dtype=torch.long)
    out = model(input_ids=x, use_cache=False, logits_to_keep=0 if keep_all else 1)
    return out.logits[0]  # [T or 1, V]


@torch.no_grad()
def greedy(model, ids: list[int], n_new: int) -> tuple[list[int], list[float]]:
    """Greedy decoding with the KV cache that does not stop at EOS.

    A fixed-length continuation makes the golden independent of stop-token handling; tests
    that stop at EOS compare the prefix. Also returns the top-1 minus top-2 logit margin per
    step: where it is tiny, a correct implementation may legitimately pick the other token.
    """
    out = model(input_ids=torch.tensor([ids]), use_cache=True)
    past = out.past_key_values
    logits = out.logits[0, -1]
    new_ids: list[int] = []
    margins: list[float] = []
    for step in range(n_new):
        top2 = torch.topk(logits, 2)
        nxt = int(top2.indices[0])
        new_ids.append(nxt)
        margins.append(float(top2.values[0] - top2.values[1]))
        if step + 1 == n_new:
            break
        out = model(input_ids=torch.tensor([[nxt]]), past_key_values=past, use_cache=True)
        past = out.past_key_values
        logits = out.logits[0, -1]
    return new_ids, margins


@torch.no_grad()
def hf_generate(model, ids: list[int], n_new: int) -> list[int]:
    """transformers' own generate(), as the brief asks: stops at EOS, so it is a prefix check."""
    out = model.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                         max_new_tokens=n_new, do_sample=False, use_cache=True)
    return [int(i) for i in out[0, len(ids):]]


@torch.no_grad()
def capture_activations(model, ids: list[int]) -> dict[str, np.ndarray]:
    """Hidden states at a few module boundaries for the short prompt, for layer-level tests."""
    base = model.model
    taps = {
        "embed": base.embed_tokens,
        "layer0_out": base.layers[0],
        f"layer{len(base.layers) - 1}_out": base.layers[-1],
        "final_norm": base.norm,
    }
    got: dict[str, np.ndarray] = {}
    handles = []
    for name, mod in taps.items():
        def hook(_m, _inp, out, name=name):
            t = out[0] if isinstance(out, tuple) else out
            got[name] = t[0].detach().float().numpy().copy()
        handles.append(mod.register_forward_hook(hook))
    try:
        model(input_ids=torch.tensor([ids]), use_cache=False)
    finally:
        for h in handles:
            h.remove()
    return got


def top_k(logits: torch.Tensor, k: int) -> list[dict]:
    v, i = torch.topk(logits, k)
    return [{"id": int(a), "logit": float(b)} for a, b in zip(i, v)]


class Q8Activations:
    """Context manager: quantise every Linear input like ggml's quantize_row_q8_1/q8_0.

    ggml's quantised matmul (vec_dot_q4_1_q8_1, vec_dot_q8_0_q8_0) first rounds activations to
    int8 in blocks of 32 with an fp16 scale d = amax/127. This simulates exactly that rounding
    (not the integer accumulation order) to measure how far a llama.cpp-style quantised path
    may legitimately drift from the f32 golden, which sets the tolerances for such tests.
    """

    def __init__(self, model):
        self.model = model
        self.handles = []

    @staticmethod
    def quantise(x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        b = x.reshape(-1, 32)
        d = (b.abs().amax(dim=1, keepdim=True) / 127.0).to(torch.float16).to(x.dtype)
        inv = torch.where(d > 0, 1.0 / (b.abs().amax(dim=1, keepdim=True) / 127.0), torch.zeros_like(d))
        return (torch.round(b * inv) * d).reshape(shape)

    def __enter__(self):
        for mod in self.model.modules():
            if isinstance(mod, torch.nn.Linear):
                self.handles.append(mod.register_forward_pre_hook(
                    lambda _m, args: (self.quantise(args[0]),) + tuple(args[1:])))
        return self

    def __exit__(self, *exc):
        for h in self.handles:
            h.remove()
        self.handles.clear()


# --------------------------------------------------------------------------------------
# Perplexity
# --------------------------------------------------------------------------------------

@torch.no_grad()
def perplexity(model, tokens: list[int], n_ctx: int, n_chunk: int, bos_id: int | None) -> dict:
    """Same windows and scoring as llama.cpp's tools/perplexity/perplexity.cpp (no stride).

    llama.cpp tokenizes the whole file with common_tokenize(..., add_special=true), which
    prepends BOS only when the vocab says add_bos (false for this GGUF, so no BOS at all).
    It cuts n_chunk = min(--chunks, n_tokens / n_ctx) consecutive, non-overlapping windows
    [i*n_ctx, (i+1)*n_ctx); when add_bos is true it overwrites the first token of each window
    with BOS (here it does not). With first = n_ctx/2 it scores the logits at positions
    j = first .. n_ctx-2, each predicting token j+1, i.e. n_ctx - first - 1 tokens per window
    (1023 for 2048), with nll = log(sum exp(l - max)) + max - l[target] accumulated in double.
    PPL after window i is exp(sum nll / sum count) over windows 0..i.
    """
    n_chunk = min(n_chunk, len(tokens) // n_ctx)
    first = n_ctx // 2
    windows = []
    total_nll = 0.0
    total_count = 0
    first_window_token_nll: list[float] = []
    for i in range(n_chunk):
        start = i * n_ctx
        win = list(tokens[start:start + n_ctx])
        if bos_id is not None:
            win[0] = bos_id
        t0 = time.time()
        # logits_to_keep = n_ctx - first returns positions first .. n_ctx-1 (skips half the
        # lm_head work); the last one predicts beyond the window and is dropped, as in llama.cpp.
        logits = model(input_ids=torch.tensor([win]), use_cache=False,
                       logits_to_keep=n_ctx - first).logits[0, :-1].float()
        targets = torch.tensor(win[first + 1:], dtype=torch.long)
        logp = torch.log_softmax(logits, dim=-1)
        nll = -logp.gather(1, targets[:, None])[:, 0]
        nll_sum = float(nll.double().sum())
        count = n_ctx - first - 1
        assert nll.numel() == count
        total_nll += nll_sum
        total_count += count
        if i == 0:
            first_window_token_nll = [round(float(x), 6) for x in nll]
        windows.append({
            "index": i,
            "start": start,
            "first_token_id": int(tokens[start]),
            "last_token_id": int(tokens[start + n_ctx - 1]),
            "nll_sum": nll_sum,
            "count": count,
            "ppl_running": math.exp(total_nll / total_count),
        })
        log(f"ppl ctx={n_ctx} window {i + 1}/{n_chunk}: running PPL "
            f"{windows[-1]['ppl_running']:.4f} ({time.time() - t0:.1f} s)")
    return {
        "n_ctx": n_ctx,
        "n_chunk": n_chunk,
        "first_scored_position": first,
        "tokens_scored_per_window": n_ctx - first - 1,
        "bos_replaces_first_token": bos_id is not None,
        "ppl": math.exp(total_nll / total_count),
        "nll_total": total_nll,
        "count_total": total_count,
        "windows": windows,
        "window0_token_nll": first_window_token_nll,
    }


# --------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------

def long_passage(text: str, encode, min_tokens: int) -> str:
    """A whole-verse KJV passage of at least min_tokens tokens, starting at Genesis 37."""
    start = text.index("Genesis 37\n")
    lines = text[start:].splitlines(keepends=True)
    passage = ""
    for line in lines:
        passage += line
        # Re-tokenizing the growing string is cheap here and avoids assuming that token
        # counts add across line boundaries.
        if len(encode(passage)) >= min_tokens:
            return passage
    raise RuntimeError("text too short for the long prompt")


def generate(out_dir, model_path, text_path) -> list[Path]:
    torch.set_num_threads(int(os.environ.get("LM_GOLDEN_THREADS", "2")))
    torch.manual_seed(0)
    out_dir = Path(out_dir)
    model_path = Path(model_path).resolve()
    text_path = Path(text_path).resolve()
    t_start = time.time()

    log(f"loading {model_path}")
    model, tok = load_model_and_tokenizer(model_path)
    cfg = model.config
    encode, tok_disagreements = make_encoder(tok)

    log("checking dequantised weights against the GGUF")
    weight_check = check_weights(model, model_path)

    text = text_path.read_text(encoding="utf-8")
    messages = [{"role": "user", "content": CHAT_QUESTION}]
    chat_text = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    chat_ids_hf = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=True,
                                          return_dict=True)["input_ids"]
    chat_ids_hf = [int(i) for i in (chat_ids_hf[0] if isinstance(chat_ids_hf[0], list) else chat_ids_hf)]
    passage = long_passage(text, encode, LONG_PROMPT_MIN_TOKENS)
    # Tokenized up front so the tokenizer check in model_smollm2.json covers the whole text.
    tokens = encode(text, label=common.rel_to_repo(text_path))

    prompts = [
        {"name": "chat", "kind": "chat_template", "messages": messages, "text": chat_text},
        {"name": "plain", "kind": "plain", "text": PLAIN_PROMPT},
        {"name": "kjv_long", "kind": "plain", "source": common.rel_to_repo(text_path), "text": passage},
    ]
    for p in prompts:
        p["token_ids"] = encode(p["text"], label=p["name"])
        p["n_tokens"] = len(p["token_ids"])
    if prompts[0]["token_ids"] != chat_ids_hf:
        raise RuntimeError("apply_chat_template ids differ from tokenizing the rendered template")

    out_files: list[Path] = []
    f32_logits: dict[str, torch.Tensor] = {}
    for p in prompts:
        name, ids = p["name"], p["token_ids"]
        t0 = time.time()
        keep_all = name == "plain"
        logits = forward_logits(model, ids, keep_all=keep_all)
        f32_logits[name] = logits.clone()
        final = logits[-1]
        stem = f"model_smollm2_{name}"
        if keep_all:
            desc = common.write_f32(out_dir, f"{stem}_all_logits.f32", logits.numpy())
            p["all_logits"] = desc
            # Final-position logits are the last row of the same file; no duplicate file.
            p["final_logits"] = {**desc, "shape": [int(logits.shape[1])],
                                 "offset_bytes": (len(ids) - 1) * int(logits.shape[1]) * 4,
                                 "sha256": common.sha256_bytes(
                                     final.numpy().astype("<f4").tobytes())}
            acts = capture_activations(model, ids)
            p["activations"] = {k: common.write_f32(out_dir, f"{stem}_act_{k}.f32", v)
                                for k, v in acts.items()}
            out_files += [out_dir / desc["file"]] + [out_dir / d["file"] for d in p["activations"].values()]
        else:
            p["final_logits"] = common.write_f32(out_dir, f"{stem}_final_logits.f32", final.numpy())
            out_files.append(out_dir / p["final_logits"]["file"])
        p["top10"] = top_k(final, N_TOP)
        new_ids, margins = greedy(model, ids, N_GREEDY)
        gen_ids = hf_generate(model, ids, N_GREEDY)
        if gen_ids != new_ids[:len(gen_ids)]:
            raise RuntimeError(f"{name}: manual greedy loop disagrees with generate(): "
                               f"{new_ids} vs {gen_ids}")
        eos = cfg.eos_token_id
        p["greedy"] = {
            "n_new": N_GREEDY,
            "ids": new_ids,
            "text": tok.decode(new_ids, skip_special_tokens=False),
            "first_eos_index": new_ids.index(eos) if eos in new_ids else None,
            "hf_generate_ids": gen_ids,
            "top1_margins": [round(m, 5) for m in margins],
            "min_margin": min(margins),
        }
        log(f"prompt {name}: {len(ids)} tokens, top1 {p['top10'][0]}, "
            f"greedy {p['greedy']['text'][:120]!r} ({time.time() - t0:.1f} s)")
    chat = prompts[0]
    if "Paris" not in chat["greedy"]["text"]:
        raise RuntimeError(f"sanity check failed: chat answer {chat['greedy']['text']!r} lacks 'Paris'")

    # Floor for C++ tolerances: the same weights run in float64. Any float32 implementation
    # (ours included) differs from the exact result by about this much, so a test tolerance
    # below this spread would be testing summation order, not correctness.
    log("float64 reference for the tolerance floor")
    model64 = copy.deepcopy(model).double()
    spread = {}
    for p in prompts:
        l64 = forward_logits(model64, p["token_ids"], keep_all=p["name"] == "plain")
        l32 = f32_logits[p["name"]].double()
        d = (l32 - l64).abs()
        spread[p["name"]] = {
            "max_abs_all_stored_positions": float(d.max()),
            "max_abs_final": float(d[-1].max()),
            "mean_abs_final": float(d[-1].mean()),
            "max_abs_logit_final": float(l64[-1].abs().max()),
            "top1_agrees": bool(int(l32[-1].argmax()) == int(l64[-1].argmax())),
        }
        log(f"f32 vs f64 {p['name']}: {spread[p['name']]}")
    del model64

    # Second measurement, for tests of a quantised-activation (llama.cpp-style) path.
    log("float32 with Q8-rounded activations, for quantised-path tolerances")
    q8_spread = {}
    with Q8Activations(model):
        for p in prompts:
            lq = forward_logits(model, p["token_ids"], keep_all=p["name"] == "plain")
            l32 = f32_logits[p["name"]]
            d = (lq - l32).abs()
            top_ref = set(torch.topk(l32[-1], N_TOP).indices.tolist())
            top_q8 = set(torch.topk(lq[-1], N_TOP).indices.tolist())
            q8_spread[p["name"]] = {
                "max_abs_all_stored_positions": float(d.max()),
                "max_abs_final": float(d[-1].max()),
                "mean_abs_final": float(d[-1].mean()),
                "top1_agrees": bool(int(lq[-1].argmax()) == int(l32[-1].argmax())),
                "top10_overlap": len(top_ref & top_q8),
            }
            log(f"q8 activations vs f32 {p['name']}: {q8_spread[p['name']]}")

    doc = {
        "provenance": common.provenance(),
        "model": {
            "path": common.rel_to_repo(model_path),
            "sha256": common.sha256_file(model_path),
            "size_bytes": model_path.stat().st_size,
            "arch": cfg.model_type,
            "n_layer": cfg.num_hidden_layers,
            "n_embd": cfg.hidden_size,
            "n_head": cfg.num_attention_heads,
            "n_head_kv": cfg.num_key_value_heads,
            "head_dim": cfg.head_dim,
            "n_ff": cfg.intermediate_size,
            "n_vocab": cfg.vocab_size,
            "rope_theta": cfg.rope_parameters["rope_theta"],
            "rms_norm_eps": cfg.rms_norm_eps,
            "bos_token_id": cfg.bos_token_id,
            "eos_token_id": cfg.eos_token_id,
            "add_bos": False,
        },
        "reference": {
            "how": "transformers AutoModelForCausalLM.from_pretrained(gguf_file=..., dtype=float32): "
                   "weights dequantised to f32, HF Llama forward (sdpa attention, rotate_half rope on "
                   "un-permuted Q/K), torch CPU",
            "torch_threads": torch.get_num_threads(),
            "attn_implementation": getattr(cfg, "_attn_implementation", None),
        },
        "weight_check": weight_check,
        "tokenizer_check": {
            "pre_tokenizer": "Digits(individual) + ByteLevel (llama.cpp pre 'smollm')",
            "why": "transformers' GGUF loader drops SmolLM2's Digits step; e.g. '\\n\\n  1 And' "
                   "splits as ['\\n\\n ', ' 1'] without it but ['\\n\\n  ', '1'] with it "
                   "(llama.cpp's 'smollm' regexes split \\p{N} first, like SmolLM2's tokenizer.json)",
            "disagreements_with_transformers_gguf_tokenizer": tok_disagreements,
        },
        "f32_vs_f64": spread,
        "q8_activations_vs_f32": q8_spread,
        "q8_activations_note": "informational: activations rounded to Q8 blocks of 32 (fp16 scale) "
                               "before every Linear, as ggml's quantised matmuls do; not a golden",
        "sidecar_format": "raw little-endian float32, C order, no header; final_logits of 'plain' "
                          "is a row of its all_logits file at offset_bytes",
        "prompts": prompts,
    }
    out_files.append(common.write_json(out_dir, MODEL_JSON, doc))

    for n_ctx, n_chunk in PPL_RUNS:
        log(f"perplexity ctx={n_ctx} chunks={n_chunk}")
        res = perplexity(model, tokens, n_ctx, n_chunk, bos_id=None)  # add_bos=false: no BOS
        if n_ctx == 512:
            # Cheap at 512: how much Q8-rounded activations move PPL (informational).
            with Q8Activations(model):
                res["ppl_with_q8_activations"] = perplexity(model, tokens, n_ctx, n_chunk, None)["ppl"]
        ppl_doc = {
            "provenance": common.provenance(),
            "model": {"path": common.rel_to_repo(model_path), "sha256": doc["model"]["sha256"]},
            "text": {
                "path": common.rel_to_repo(text_path),
                "sha256": common.sha256_file(text_path),
                "size_bytes": text_path.stat().st_size,
                "origin": "Debian bible-kjv-text via `bible -l1000 gen1:1-gen50:26` (KJV Genesis)",
            },
            "tokenization": {
                "add_bos": False,
                "n_tokens": len(tokens),
                "token_ids_sha256": common.sha256_bytes(np.asarray(tokens, dtype="<i4").tobytes()),
                "token_ids_sha256_format": "int32 little-endian array of all token ids",
                "first_32_ids": tokens[:32],
            },
            "method": "llama.cpp tools/perplexity (default, no --ppl-stride): consecutive windows of "
                      "n_ctx tokens, no BOS (vocab add_bos=false), score logits at positions "
                      "n_ctx/2 .. n_ctx-2 against the next token; forward in float32, nll summed in "
                      "float64",
            **res,
        }
        out_files.append(common.write_json(out_dir, f"ppl_kjv_ctx{n_ctx}.json", ppl_doc))
    log(f"done in {time.time() - t_start:.0f} s")
    return out_files
