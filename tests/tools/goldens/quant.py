"""Quantisation goldens: GGML block bytes and their dequantised floats, with gguf-py as the reference.

Writes quant_blocks.json: for each type, a few cases of raw block bytes (hex) and gguf-py's dequantised
float32 values (hex of the little-endian bit patterns, so NaN/inf/-0 survive JSON and the C++ test can
compare bit for bit). Types gguf.quants can quantise (q8_0, q4_0, q4_1, q5_0, q5_1, f16, bf16) start from
seeded float data and also record that source, so the C++ quantisers can be checked; K-quants (which
gguf-py 0.19 only dequantises) use seeded random raw blocks with a sane f16 scale.
Run directly: /work/venv-goldens/bin/python tests/tools/goldens/quant.py [out_dir]
"""
from __future__ import annotations

import pathlib
import sys

if __package__ in (None, ""):  # run as a script: make `goldens` importable
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
    from goldens import common
else:
    from . import common

SEED = 20240517
OUT_NAME = "quant_blocks.json"


def _hex_f32(values) -> str:
    import numpy as np

    return np.ascontiguousarray(np.asarray(values, dtype="<f4")).tobytes().hex()


def _float_cases(rng, block: int) -> list[tuple[str, "object"]]:
    """Named float rows (one or two blocks each) covering ordinary and edge inputs."""
    import numpy as np

    f32 = np.float32
    cases = [
        ("normal", rng.standard_normal(2 * block).astype(f32)),
        ("zeros", np.zeros(block, f32)),
        ("constant", np.full(block, 0.75, f32)),
        ("negative_only", -np.abs(rng.standard_normal(block)).astype(f32) - f32(0.5)),
        ("outlier", np.concatenate([rng.standard_normal(block - 1) * 0.01, [1000.0]]).astype(f32)),
        ("tiny", (rng.standard_normal(block) * 1e-6).astype(f32)),
        ("large", (rng.uniform(-1, 1, block) * 3e4).astype(f32)),
    ]
    return cases


def _quantised_type(gguf, rng, qtype, block: int) -> list[dict]:
    from gguf.quants import dequantize, quantize

    out = []
    for name, x in _float_cases(rng, block):
        raw = quantize(x.reshape(1, -1), qtype)
        deq = dequantize(raw, qtype).reshape(-1)
        out.append({"name": name, "n": int(x.size), "src_f32": _hex_f32(x), "bytes": raw.tobytes().hex(),
                    "f32": _hex_f32(deq)})
    return out


def _random_k_blocks(np, rng, qtype, n_blocks: int, scale_fields: list[int], block_bytes: int) -> list[dict]:
    """Random K-quant blocks: random bytes, then sane f16 scales written over the d/dmin fields."""
    from gguf.quants import dequantize

    out = []
    for k in range(n_blocks):
        raw = rng.integers(0, 256, size=block_bytes, dtype=np.uint8)
        for off in scale_fields:
            # |d| in [1e-4, 0.1], random sign: keeps values finite and typical of real weights.
            d = np.float16(rng.uniform(1e-4, 0.1) * rng.choice([-1.0, 1.0]))
            raw[off:off + 2] = np.frombuffer(d.tobytes(), np.uint8)
        out.append({"name": f"random{k}", "n": 256, "bytes": raw.tobytes().hex(),
                    "f32": _hex_f32(dequantize(raw.reshape(1, -1), qtype).reshape(-1))})
    # Edge blocks: every bit set with the largest finite f16 scale, and a zero scale.
    edge_max = np.full(block_bytes, 0xFF, np.uint8)
    edge_zero = rng.integers(0, 256, size=block_bytes, dtype=np.uint8)
    for off in scale_fields:
        edge_max[off:off + 2] = np.frombuffer(np.float16(65504.0).tobytes(), np.uint8)
        edge_zero[off:off + 2] = 0
    for name, raw in (("all_bits_max_scale", edge_max), ("zero_scale", edge_zero)):
        out.append({"name": name, "n": 256, "bytes": raw.tobytes().hex(),
                    "f32": _hex_f32(dequantize(raw.reshape(1, -1), qtype).reshape(-1))})
    return out


def _half_cases(np, rng) -> list[tuple[str, "object"]]:
    """Float inputs for f16/bf16 conversion: normal, subnormal, overflow, ties, signed zeros, infinities."""
    f32 = np.float32
    ties = [1.0 + 2.0**-11, 1.0 + 3 * 2.0**-11, 2049.0, 2051.0, 1.0 + 2.0**-8, 1.0 + 3 * 2.0**-8]
    special = [0.0, -0.0, np.inf, -np.inf, 65504.0, 65519.0, 65520.0, -70000.0, 6.1e-5, 5.96e-8, 2.98e-8,
               2.99e-8, 1e-10, -1e-7, 3.4e38, 1.0e-40]
    return [
        ("normal", rng.standard_normal(64).astype(f32)),
        ("wide_range", (rng.standard_normal(64) * 10.0 ** rng.integers(-9, 6, 64)).astype(f32)),
        ("subnormal_f16", (rng.uniform(-1, 1, 32) * 6e-5).astype(f32)),
        ("ties_and_specials", np.array(ties + special, f32)),
    ]


def _half_type(np, rng, qtype, name: str) -> list[dict]:
    from gguf.quants import dequantize, quantize

    out = []
    for case, x in _half_cases(np, rng):
        # gguf-py's F16 "quantize" is numpy's float16 cast; BF16 mirrors ggml_compute_fp32_to_bf16.
        with np.errstate(over="ignore"):  # overflow to inf is one of the cases under test
            raw = quantize(x, qtype)
        raw_bytes = np.ascontiguousarray(raw).view(np.uint8)
        out.append({"name": case, "n": int(x.size), "src_f32": _hex_f32(x), "bytes": raw_bytes.tobytes().hex(),
                    "f32": _hex_f32(dequantize(raw_bytes, qtype).reshape(-1))})
    # Every f16 / bf16 class of bit pattern, NaNs included, straight to f32 (dequantisation only).
    bits = np.array([0x0000, 0x8000, 0x0001, 0x03FF, 0x0400, 0x3C00, 0x7BFF, 0x7C00, 0xFC00, 0x7E00, 0x7C01,
                     0xFFFF, 0x3555, 0xC000, 0x7F80, 0xFF80, 0x7FC0, 0x0080, 0x007F],
                    np.uint16).view(np.uint8)
    out.append({"name": "bit_patterns", "n": 19, "bytes": bits.tobytes().hex(),
                "f32": _hex_f32(dequantize(bits, qtype).reshape(-1))})
    return out


def build() -> dict:
    import gguf
    import numpy as np

    T = gguf.GGMLQuantizationType
    rng = np.random.default_rng(SEED)
    types: dict[str, list[dict]] = {}
    for name, qtype in (("q8_0", T.Q8_0), ("q4_0", T.Q4_0), ("q4_1", T.Q4_1), ("q5_0", T.Q5_0), ("q5_1", T.Q5_1)):
        types[name] = _quantised_type(gguf, rng, qtype, 32)
    # Byte offsets of the f16 scale fields: q4_K/q5_K start with d, dmin; q6_K ends with d.
    types["q4_K"] = _random_k_blocks(np, rng, T.Q4_K, 4, [0, 2], 144)
    types["q5_K"] = _random_k_blocks(np, rng, T.Q5_K, 4, [0, 2], 176)
    types["q6_K"] = _random_k_blocks(np, rng, T.Q6_K, 4, [208], 210)
    types["f16"] = _half_type(np, rng, T.F16, "f16")
    types["bf16"] = _half_type(np, rng, T.BF16, "bf16")
    return {
        "provenance": common.provenance(module="tests/tools/goldens/quant.py", seed=SEED),
        "format": ("per type: cases of {name, n elements, bytes: raw blocks as hex, f32: gguf-py's dequantised "
                   "values as hex of little-endian float32 bits, src_f32 (quantised types): the float input}"),
        "types": types,
    }


def generate(out_dir: pathlib.Path) -> None:
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = common.write_json(out_dir, OUT_NAME, build())
    print(f"quant goldens: wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    generate(pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else common.REPO_ROOT / "tests" / "data" / "goldens")
