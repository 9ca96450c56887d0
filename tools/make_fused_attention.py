#!/usr/bin/env python3
"""Writes blockdraft's fused-attention TorchScript module (api/src/main/resources/dev/blockdraft/nn/fused_attention.pt).

DJL 0.36's PyTorch JNI binds no scaled_dot_product_attention, but it runs TorchScript modules, with
autograd when asked to. This module is nothing but two calls to torch's own fused attention (flash
or memory-efficient kernels on a GPU), so blockdraft's attention can use them:

  forward(q, k, v, mask)  q (B, H, T, D), k/v (B, G, S, D), mask additive, broadcastable to (B, H, T, S)
  causal(q, k, v)         the same with a causal mask (T = S), no mask tensor at all

G may divide H (grouped kv heads): query head h uses kv head h // (H / G), as HF's repeat_kv.
The module has no parameters; the file is a few kilobytes. Regenerate it with any torch ≥ 2.1:
  python3 tools/make_fused_attention.py [OUT]
"""
import sys
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


class FusedAttention(torch.nn.Module):
    def forward(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor) -> Tensor:
        k, v = self.expand(q, k, v)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)

    @torch.jit.export
    def causal(self, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        k, v = self.expand(q, k, v)
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)

    def expand(self, q: Tensor, k: Tensor, v: Tensor) -> Tuple[Tensor, Tensor]:
        r = q.size(1) // k.size(1)
        if r > 1:
            k = k.repeat_interleave(r, dim=1)
            v = v.repeat_interleave(r, dim=1)
        return k, v


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "api/src/main/resources/dev/blockdraft/nn/fused_attention.pt"
    module = torch.jit.script(FusedAttention())
    module.save(out)
    print(f"wrote {out} with torch {torch.__version__}")
