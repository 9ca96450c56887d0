#!/usr/bin/env python3
"""Checks tools/make_fused_ops.py's whole-model methods against its per-layer ones, in Python.

frozen_forward (prefill, then single tokens and a verification chunk over an in-place KV cache; with
explicit positions and a mask; no cache) must give decoder_layer's full-sequence outputs, and
drafter_block and drafter_context with drafter_block must give drafter_layer's with an all-visible mask, for Llama, Qwen2 (biases) and Qwen3
(q/k norms) shapes with grouped kv heads. Run it after editing the generator, beside regenerating the
module (DEVELOPERS.md):  python3 tools/check_fused_ops.py
With a torch older than 2.4 (no rms_norm; before 2.0 no scaled_dot_product_attention, no fused AdamW) it
substitutes the plain formulas and leaves AdamW out, so the maths can be checked on a machine without a recent torch.
"""
import math
import os
import sys
from typing import List, Optional

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fused_ops  # noqa: E402

if not hasattr(F, "scaled_dot_product_attention"):
    def plain_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, attn_mask: Optional[torch.Tensor] = None,
                        dropout_p: float = 0.0, is_causal: bool = False) -> torch.Tensor:
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
        if is_causal:
            t, s = q.size(-2), k.size(-2)
            allowed = torch.ones(t, s, dtype=torch.bool, device=q.device).tril()
            scores = scores.masked_fill(~allowed, float("-inf"))
        if attn_mask is not None:
            if attn_mask.dtype == torch.bool:
                scores = scores.masked_fill(~attn_mask, float("-inf"))
            else:
                scores = scores + attn_mask
        return torch.softmax(scores, -1) @ v

    F.scaled_dot_product_attention = plain_attention
    del make_fused_ops.FusedOps.adamw

if not hasattr(F, "rms_norm"):  # torch < 2.4: the formula F.rms_norm computes
    def rms_norm(x: torch.Tensor, normalized_shape: List[int], weight: Optional[torch.Tensor] = None,
                 eps: Optional[float] = None) -> torch.Tensor:
        h = x.to(torch.float32)
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + (eps if eps is not None else 1e-6))
        h = h.to(x.dtype)
        return h if weight is None else h * weight

    F.rms_norm = rms_norm

ops = torch.jit.script(make_fused_ops.FusedOps())
torch.manual_seed(0)
worst = 0.0


def close(what, expected, actual, tol=1e-4):
    global worst
    diff = (expected - actual).abs().max().item()
    worst = max(worst, diff)
    if diff > tol:
        raise SystemExit(f"FAIL {what}: max |difference| {diff:.3g} > {tol}")


def rope(positions, dim, theta=10000.0):
    inv = 1.0 / theta ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim)
    angles = torch.outer(torch.arange(positions, dtype=torch.float32), inv)
    angles = torch.cat((angles, angles), -1)
    sin = angles.sin()
    half = dim // 2
    return angles.cos(), torch.cat((-sin[:, :half], sin[:, half:]), -1)


def layer_weights(c, hidden, heads, kv, d, inter, bias, qk):
    r = lambda *s: torch.randn(*s) * 0.2
    none = torch.empty(0)
    return [1 + r(hidden), r(heads * d, hidden), r(kv * d, hidden), r(kv * d, hidden), r(hidden, heads * d),
            r(heads * d) if bias else none, r(kv * d) if bias else none, r(kv * d) if bias else none,
            1 + r(d) if qk else none, 1 + r(d) if qk else none, 1 + r(hidden), r(inter, hidden), r(inter, hidden),
            r(hidden, inter)]


for name, bias, qk in (("llama", False, False), ("qwen2", True, False), ("qwen3", False, True)):
    hidden, heads, kv, d, inter, vocab, layers, eps = 32, 4, 2, 8, 48, 50, 3, 1e-6
    cos, sin = rope(64, d)
    weights = [w for _ in range(layers) for w in layer_weights(None, hidden, heads, kv, d, inter, bias, qk)]
    embed, final, head = torch.randn(vocab, hidden), 1 + 0.1 * torch.randn(hidden), torch.randn(vocab, hidden) * 0.2
    b, n = 2, 12
    ids = torch.randint(0, vocab, (b, n))

    def reference(ids):  # decoder_layer over the whole sequence, layer by layer
        x = F.embedding(ids, embed)
        outs = []
        for layer in range(layers):
            w = weights[14 * layer:14 * layer + 14]
            x = ops.decoder_layer(x, *w, cos[:ids.size(1)], sin[:ids.size(1)], heads, kv, d, eps)
            outs.append(x)
        return ops.rms_norm(x, final, torch.tensor(eps)) @ head.t(), outs

    want, hidden_states = reference(ids)
    none = torch.empty(0, dtype=torch.long)
    empty = torch.empty(0)
    # no cache, all logits, two capture layers
    got = ops.frozen_forward(ids, embed, weights, [], [], 0, none, empty, cos, sin, final, head, [2, 0], 2,
                             heads, kv, d, eps)
    close(f"{name} no cache logits", want, got[0])
    close(f"{name} no cache capture 2", hidden_states[2], got[1])
    close(f"{name} no cache capture 0", hidden_states[0], got[2])
    # a cache: prefill 5, one token, then a verification chunk of 4, then one more token
    keys = [torch.zeros(b, kv, 32, d) for _ in range(layers)]
    values = [torch.zeros(b, kv, 32, d) for _ in range(layers)]
    offset = 0
    for chunk in (5, 1, 4, 1, 1):
        part = ids[:, offset:offset + chunk]
        got = ops.frozen_forward(part, embed, weights, keys, values, offset, none, empty, cos, sin, final, head, [1],
                                 2, heads, kv, d, eps)
        close(f"{name} cached logits at {offset}+{chunk}", want[:, offset:offset + chunk], got[0])
        close(f"{name} cached capture at {offset}+{chunk}", hidden_states[1][:, offset:offset + chunk], got[1])
        last = ops.frozen_forward(part, embed, weights, [k.clone() for k in keys], [v.clone() for v in values], offset,
                                  none, empty, cos, sin, final, head, [], 1, heads, kv, d, eps)
        close(f"{name} last logits at {offset}+{chunk}", want[:, offset + chunk - 1:offset + chunk], last[0])
        offset += chunk
    # explicit positions and an additive mask reproduce the causal step
    keys = [torch.zeros(b, kv, 32, d) for _ in range(layers)]
    values = [torch.zeros(b, kv, 32, d) for _ in range(layers)]
    positions = torch.arange(n).view(1, 1, n).expand(b, 1, n).contiguous()
    additive = torch.full((n, n), float("-inf")).triu(1).view(1, 1, n, n)
    got = ops.frozen_forward(ids, embed, weights, keys, values, 0, positions, additive, cos, sin, final, head, [], 2,
                             heads, kv, d, eps)
    close(f"{name} positions and mask", want, got[0])
    assert got[0].dtype == torch.float32 and len(got) == 1

# drafter_block against drafter_layer with every key visible
hidden, heads, kv, d, inter, vocab, layers, eps, block, p = 32, 4, 2, 8, 48, 50, 2, 1e-6, 6, 9
cos, sin = rope(64, d)
r = lambda *s: torch.randn(*s) * 0.2
weights = []
for _ in range(layers):
    weights += [1 + r(hidden), r(heads * d, hidden), r(kv * d, hidden), r(kv * d, hidden), r(hidden, heads * d),
                1 + r(d), 1 + r(d), 1 + r(hidden), r(inter, hidden), r(inter, hidden), r(hidden, inter)]
embed, final, head = torch.randn(vocab, hidden), 1 + 0.1 * torch.randn(hidden), r(vocab, hidden)
fc, hidden_norm = r(hidden, 2 * hidden), 1 + r(hidden)
features = torch.randn(1, p, 2 * hidden)
context = ops.rms_norm(features @ fc.t(), hidden_norm, torch.tensor(eps))
ids = torch.tensor([[7] + [vocab - 1] * (block - 1)])
x = F.embedding(ids, embed)
dims, e = torch.tensor([heads, kv, d]), torch.tensor(eps, dtype=torch.float64)
for layer in range(layers):
    w = weights[11 * layer:11 * layer + 11]
    x = ops.drafter_layer(x, context, *w, cos[p:p + block], sin[p:p + block], cos[:p], sin[:p],
                          torch.zeros(1, 1, block, p + block), dims, e)
want = ops.rms_norm(x[0, 1:], final, torch.tensor(eps)) @ head.t()
keys = [torch.zeros(1, kv, 32, d) for _ in range(layers)]
values = [torch.zeros(1, kv, 32, d) for _ in range(layers)]
ops.drafter_context(features[:, :4], fc, hidden_norm, weights, keys, values, 0, cos, sin, kv, d, eps)
ops.drafter_context(features[:, 4:], fc, hidden_norm, weights, keys, values, 4, cos, sin, kv, d, eps)
got = ops.drafter_block(ids, embed, weights, keys, values, p, cos, sin, final, head, heads, kv, d, eps)
close("drafter_block", want, got)
# a cache with no room beyond the context (the block concatenated, not written in place) gives the same
tight_keys = [k[:, :, :p].clone() for k in keys]
tight_values = [v[:, :, :p].clone() for v in values]
got = ops.drafter_block(ids, embed, weights, tight_keys, tight_values, p, cos, sin, final, head, heads, kv, d, eps)
close("drafter_block without room", want, got)


def drafter_reference(features, ids, p):  # drafter_layer over the first p context states, block at p
    ctx = ops.rms_norm(features[:, :p] @ fc.t(), hidden_norm, torch.tensor(eps))
    x = F.embedding(ids, embed)
    for layer in range(layers):
        w = weights[11 * layer:11 * layer + 11]
        x = ops.drafter_layer(x, ctx, *w, cos[p:p + block], sin[p:p + block], cos[:p], sin[:p],
                              torch.zeros(1, 1, block, p + block), dims, e)
    return ops.rms_norm(x[0, 1:], final, torch.tensor(eps)) @ head.t()


# the block written in place at p.. is overwritten by the next verified tokens' context: 3 more, then a block
more = torch.cat((features, torch.randn(1, 3, 2 * hidden)), 1)
ops.drafter_context(more[:, p:], fc, hidden_norm, weights, keys, values, p, cos, sin, kv, d, eps)
got = ops.drafter_block(ids, embed, weights, keys, values, p + 3, cos, sin, final, head, heads, kv, d, eps)
close("drafter_block after a block and more context", drafter_reference(more, ids, p + 3), got)
print(f"fused ops whole-model methods match their per-layer ones (worst |difference| {worst:.2g}, torch {torch.__version__})")
