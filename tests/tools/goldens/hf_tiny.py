"""Tiny random Hugging Face checkpoints (Llama and Qwen2) saved as safetensors, with their logits.

They check longmem's safetensors path end to end against transformers: HF tensor names, the half-split
RoPE pairing of HF checkpoints (GGUF llama files use the interleaved one), Qwen2's QKV biases, untied and
tied heads, and a sharded checkpoint (index.json + two shards).
"""
from __future__ import annotations

import json
from pathlib import Path

from . import common

TOKENS = [1, 17, 42, 99, 3, 64, 5, 120, 77, 8, 9, 31]


def _build(kind: str):
    import torch
    import transformers

    torch.manual_seed({"llama": 1, "qwen2": 2, "llama_tied_sharded": 3}[kind])
    common_args = dict(vocab_size=128, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                       rms_norm_eps=1e-5)
    if kind == "qwen2":
        cfg = transformers.Qwen2Config(rope_theta=1000000.0, tie_word_embeddings=False, **common_args)
        model = transformers.Qwen2ForCausalLM(cfg)
    else:
        cfg = transformers.LlamaConfig(rope_theta=10000.0, tie_word_embeddings=(kind != "llama"), **common_args)
        model = transformers.LlamaForCausalLM(cfg)
    # Random init is small; widen it so a wrong RoPE pairing or a missing bias changes logits visibly.
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.2)
    return model.float().eval()


def generate(out_dir: Path) -> None:
    import torch

    out_dir = Path(out_dir)
    summary = {"provenance": common.provenance(), "tokens": TOKENS, "models": {}}
    for kind in ("llama", "qwen2", "llama_tied_sharded"):
        model = _build(kind)
        folder = out_dir / f"hf_tiny_{kind}"
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*"):
            old.unlink()
        shard = "20KB" if kind == "llama_tied_sharded" else "100MB"
        model.save_pretrained(folder, safe_serialization=True, max_shard_size=shard)
        for extra in ("generation_config.json",):
            (folder / extra).unlink(missing_ok=True)
        with torch.no_grad():
            logits = model(torch.tensor([TOKENS])).logits[0].float().numpy()
        summary["models"][kind] = {
            "folder": folder.name,
            "files": sorted(p.name for p in folder.iterdir()),
            "logits": common.write_f32(out_dir, f"hf_tiny_{kind}_logits.f32", logits),
        }
    common.write_json(out_dir, "hf_tiny.json", summary)


if __name__ == "__main__":
    generate(Path(__file__).resolve().parents[2] / "data" / "goldens")
