"""Training goldens: loss and whole-model gradients of the default model on one short sequence.

transformers loads the GGUF as float32 (the same dequantised weights longmem's trainer starts from), computes
the mean next-token cross-entropy over a fixed ~64-token passage (labels shifted inside the model), and
backpropagates. We dump the loss, the L2 norm of every parameter's gradient and the first 64 values of a few
gradients into grads_smollm2.json.

Layout: gradients are reported under GGUF tensor names and in GGUF layout. llama.cpp's converter permuted the
rows of attn_q/attn_k for interleaved RoPE pairs, and transformers un-permutes them when loading; a row
permutation of W permutes dL/dW the same way, so we apply the converter's forward permutation to the HF
gradients of q_proj/k_proj (the inverse of transformers' `_reverse_permute_weights`). Norms are invariant
under it; the slices are not. token_embd.weight is tied to the LM head, so its gradient is the sum of both uses
(one Parameter in HF, one Param in longmem).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import torch

from . import common
from .model import hf_name_for, load_model_and_tokenizer, make_encoder

PASSAGE = (
    "In the beginning God created the heaven and the earth. And the earth was without form, and void; and "
    "darkness was upon the face of the deep. And the Spirit of God moved upon the face of the waters. And God "
    "said, Let there be light: and there was light. And God saw the light, that it was good."
)
N_TOKENS = 64
SLICE = 64
SLICED = ["token_embd.weight", "output_norm.weight", "blk.0.attn_q.weight", "blk.0.attn_k.weight",
          "blk.0.attn_v.weight", "blk.0.ffn_down.weight", "blk.0.attn_norm.weight", "blk.15.attn_output.weight",
          "blk.29.ffn_gate.weight", "blk.29.ffn_norm.weight"]


def gguf_layout(grad: np.ndarray, n_head: int) -> np.ndarray:
    """HF rotate-half rows -> llama.cpp interleaved rows (convert_hf_to_gguf's permute)."""
    half = grad.shape[0] // n_head // 2
    return grad.reshape(n_head, 2, half, *grad.shape[1:]).swapaxes(1, 2).reshape(grad.shape)


def gguf_names(model) -> list[str]:
    names = ["token_embd.weight", "output_norm.weight"]
    for layer in range(model.config.num_hidden_layers):
        for sub in ("attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up",
                    "ffn_down"):
            names.append(f"blk.{layer}.{sub}.weight")
    return names


def generate(out_dir, model_path) -> list[Path]:
    torch.set_num_threads(int(os.environ.get("LM_GOLDEN_THREADS", "2")))
    t0 = time.time()
    out_dir = Path(out_dir)
    model_path = Path(model_path).resolve()
    model, tok = load_model_and_tokenizer(model_path)
    model.train(False)  # no dropout in this model anyway; eval() keeps HF from enabling anything stochastic
    cfg = model.config
    encode, _ = make_encoder(tok)
    ids = encode(PASSAGE)[:N_TOKENS]
    x = torch.tensor([ids], dtype=torch.long)
    model.zero_grad(set_to_none=True)
    out = model(input_ids=x, labels=x)  # HF shifts labels: position t predicts ids[t + 1]; mean over T - 1
    out.loss.backward()
    params = dict(model.named_parameters())
    norms, slices = {}, {}
    for name in gguf_names(model):
        hf = hf_name_for(name)
        g = params[hf].grad.detach().numpy().astype(np.float64)
        if ".attn_q." in name:
            g = gguf_layout(g, cfg.num_attention_heads)
        elif ".attn_k." in name:
            g = gguf_layout(g, cfg.num_key_value_heads)
        norms[name] = float(np.sqrt((g * g).sum()))
        if name in SLICED:
            slices[name] = [float(v) for v in g.reshape(-1)[:SLICE]]
    record = {
        "provenance": common.provenance(
            model=common.rel_to_repo(model_path), model_sha256=common.sha256_file(model_path),
            how="transformers AutoModelForCausalLM.from_pretrained(gguf_file=..., dtype=float32), "
                "loss = model(ids, labels=ids).loss (mean CE, labels shifted), loss.backward(); q/k gradients "
                "permuted into GGUF row order; torch CPU"),
        "token_ids": [int(i) for i in ids],
        "n_tokens": len(ids),
        "loss": float(out.loss.item()),
        "grad_l2_norms": norms,
        "grad_first_values": slices,
        "slice_length": SLICE,
    }
    path = common.write_json(out_dir, "grads_smollm2.json", record)
    print(f"grads: loss {record['loss']:.6f}, {len(norms)} tensors, {time.time() - t0:.0f} s", flush=True)
    return [path]
