#!/usr/bin/env python3
"""An independent float64 numpy re-implementation of DFlash's drafter forward, checked against the logits
blockdraft stored with `export --format dflash --parity-sample`.

It follows z-lab/dflash's DFlashDraftModel as dflash_generate drafts one block: hidden_norm(fc(features)); per
layer q from the block, k/v from context and block, q_norm/k_norm, rotate-half RoPE over all positions, no mask,
SwiGLU MLP; the final norm; the LM head on the last B-1 rows. Needs only numpy, so it runs on the CPU machine. It
is not DFlash's code: dflash_parity.py runs that on the GPU host.

    python3 tests/parity/dflash_numpy_reference.py EXPORT_DIR [EXPORT_DIR ...]
"""
import json
import pathlib
import struct
import sys

import numpy as np


def load_safetensors(path):
    """Every tensor of a safetensors file as float64 (F32 and BF16 only)."""
    data = pathlib.Path(path).read_bytes()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_len])
    base = 8 + header_len
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        raw = data[base + begin:base + end]
        if entry["dtype"] == "F32":
            values = np.frombuffer(raw, "<f4")
        elif entry["dtype"] == "BF16":  # bf16 is the upper half of an fp32
            values = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise SystemExit(f"{path}: {name} has dtype {entry['dtype']}, expected F32 or BF16")
        tensors[name] = values.reshape(entry["shape"]).astype(np.float64)
    return tensors


def rotate_half(x):
    half = x.shape[-1] // 2
    return np.concatenate([-x[..., half:], x[..., :half]], -1)


def draft_logits(cfg, w, sample):
    eps, heads, kv_heads = cfg["rms_norm_eps"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    head_dim, block = cfg["head_dim"], cfg["block_size"]

    def rms_norm(x, weight):
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * weight

    features = sample["target_hidden"][0]  # (L, F)
    x = sample["noise_embedding"][0]  # (B, C)
    positions = sample["position_ids"][0]  # (L + B,)
    context = rms_norm(features @ w["fc.weight"].T, w["hidden_norm.weight"])  # (L, C)
    inv_freq = 1.0 / (cfg["rope_theta"] ** (np.arange(0, head_dim, 2) / head_dim))
    angles = np.concatenate([positions[:, None] * inv_freq] * 2, -1)  # (L + B, D)
    cos, sin = np.cos(angles)[:, None, :], np.sin(angles)[:, None, :]
    for layer in range(cfg["num_hidden_layers"]):
        p = f"layers.{layer}."
        h = rms_norm(x, w[p + "input_layernorm.weight"])
        q = rms_norm((h @ w[p + "self_attn.q_proj.weight"].T).reshape(block, heads, head_dim),
                     w[p + "self_attn.q_norm.weight"])  # (B, H, D)
        kv_input = np.concatenate([context, h])  # (L + B, C): context first, then the block
        k = rms_norm((kv_input @ w[p + "self_attn.k_proj.weight"].T).reshape(-1, kv_heads, head_dim),
                     w[p + "self_attn.k_norm.weight"])  # (L + B, G, D)
        v = (kv_input @ w[p + "self_attn.v_proj.weight"].T).reshape(-1, kv_heads, head_dim)
        q = q * cos[-block:] + rotate_half(q) * sin[-block:]
        k = k * cos + rotate_half(k) * sin
        k, v = np.repeat(k, heads // kv_heads, 1), np.repeat(v, heads // kv_heads, 1)  # (L + B, H, D)
        scores = np.einsum("qhd,khd->hqk", q, k) / np.sqrt(head_dim)
        probs = np.exp(scores - scores.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        attention = np.einsum("hqk,khd->qhd", probs, v).reshape(block, heads * head_dim)
        x = x + attention @ w[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"])
        gate, up = h @ w[p + "mlp.gate_proj.weight"].T, h @ w[p + "mlp.up_proj.weight"].T
        x = x + (gate / (1 + np.exp(-gate)) * up) @ w[p + "mlp.down_proj.weight"].T
    return rms_norm(x, w["norm.weight"])[1:] @ sample["lm_head"].T  # (B - 1, V)


def check(folder):
    folder = pathlib.Path(folder)
    cfg = json.loads((folder / "config.json").read_text())
    sample = load_safetensors(folder / "blockdraft_parity_sample.safetensors")
    logits = draft_logits(cfg, load_safetensors(folder / "model.safetensors"), sample)
    expected = sample["draft_logits"][0]
    delta = np.abs(logits - expected).max()
    print(f"{folder} ({cfg['torch_dtype']}): max |delta| {delta:.3e}, max |logit| {np.abs(expected).max():.3f}, "
          f"same argmax {(logits.argmax(-1) == expected.argmax(-1)).mean():.3f}")
    return delta


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for f in sys.argv[1:]:
        check(f)
