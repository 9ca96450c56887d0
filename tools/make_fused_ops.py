#!/usr/bin/env python3
"""Writes blockdraft's fused-ops TorchScript module (api/src/main/resources/dev/blockdraft/nn/fused_ops.pt).

DJL 0.36's PyTorch JNI binds neither scaled_dot_product_attention nor PyTorch's fused AdamW, and each
op it does bind costs a JNI call (on a GPU the host, not the device, was the bottleneck). It does run
TorchScript modules, with autograd when asked to. This parameterless module holds torch functions that
blockdraft calls as one unit each (fused kernels where torch has them):

  forward(q, k, v, mask)        attention: q (B, H, T, D), k/v (B, G, S, D), additive mask broadcastable
                                to (B, H, T, S); flash / memory-efficient kernels
  causal(q, k, v)               the same with a causal mask (T = S), no mask tensor at all
  rms_norm(x, weight, eps)      HF's Llama/Qwen3 RMSNorm, fp32 inside whatever x's type: eps a 0-d tensor
  swiglu(x, gate, up, down)     down(silu(gate(x)) * up(x))
  decoder_layer(x, weights..., cos, signed_sin, heads, kv_heads, head_dim, eps)
                                a whole Llama / Qwen3 layer over a sequence (causal, no cache): the frozen
                                target's forward, where one call per layer replaces ~35
  drafter_layer(x, context, weights..., rotary factors, mask, dims, eps)
                                a whole drafter layer for training, with autograd
  adamw(params, grads, exp_avgs, exp_avg_sqs, lr, beta1, beta2, weight_decay, eps, step_and_scale)
                                PyTorch's fused AdamW (torch.optim.AdamW(fused=True)'s kernel), in place;
                                step_and_scale = fp32 [step, s]: grads are divided by s first
  global_norm(tensors)          ||concat(tensors)||_2 as a 0-d fp32 tensor, one foreach kernel

G may divide H (grouped kv heads): query head h uses kv head h // (H / G), as HF's repeat_kv.
The file is a few kilobytes. Regenerate it with torch >= 2.4 (the module must load in the libtorch DJL
uses on CPUs, 2.7.1, and in a GPU host's own):
  python3 tools/make_fused_ops.py [OUT]
"""
import sys
from typing import List, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


class FusedOps(torch.nn.Module):
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

    @torch.jit.export
    def rms_norm(self, x: Tensor, weight: Tensor, eps: Tensor) -> Tensor:
        h = x.to(torch.float32)
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + eps)
        return weight * h.to(x.dtype)

    @torch.jit.export
    def decoder_layer(self, x: Tensor, input_norm: Tensor, q_w: Tensor, k_w: Tensor, v_w: Tensor, o_w: Tensor,
                      q_b: Tensor, k_b: Tensor, v_b: Tensor, q_norm: Tensor, k_norm: Tensor, post_norm: Tensor,
                      gate: Tensor, up: Tensor, down: Tensor, cos: Tensor, signed_sin: Tensor,
                      heads: int, kv_heads: int, head_dim: int, eps: float) -> Tensor:
        # one Llama / Qwen3 decoder layer over a whole sequence, causal, as blockdraft's LlamaModel.layer;
        # empty bias / q-k norm tensors mean "none"
        b, t = x.size(0), x.size(1)
        h = self.norm(x, input_norm, eps)
        q = F.linear(h, q_w)
        k = F.linear(h, k_w)
        v = F.linear(h, v_w)
        if q_b.numel() > 0:
            q = q + q_b
            k = k + k_b
            v = v + v_b
        q = q.view(b, t, heads, head_dim)
        k = k.view(b, t, kv_heads, head_dim)
        v = v.view(b, t, kv_heads, head_dim)
        if q_norm.numel() > 0:
            q = self.norm(q, q_norm, eps)
            k = self.norm(k, k_norm, eps)
        q = self.rotate(q.transpose(1, 2), cos, signed_sin)
        k = self.rotate(k.transpose(1, 2), cos, signed_sin)
        k, v = self.expand(q, k, v.transpose(1, 2))
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + F.linear(a.transpose(1, 2).reshape(b, t, heads * head_dim), o_w)
        h = self.norm(x, post_norm, eps)
        return x + F.linear(F.silu(F.linear(h, gate)) * F.linear(h, up), down)

    @torch.jit.export
    def drafter_layer(self, x: Tensor, context: Tensor, input_norm: Tensor, q_w: Tensor, k_w: Tensor, v_w: Tensor,
                      o_w: Tensor, q_norm: Tensor, k_norm: Tensor, post_norm: Tensor, gate: Tensor, up: Tensor,
                      down: Tensor, block_cos: Tensor, block_sin: Tensor, context_cos: Tensor, context_sin: Tensor,
                      mask: Tensor, dims: Tensor, eps: Tensor) -> Tensor:
        # one layer of blockdraft's Drafter.forward (training): the context's K/V through this layer's k/v
        # projections (k-norm, rope at context positions), then the blocks' queries over [context; block] under
        # the additive mask. dims = cpu int64 [heads, kv_heads, head_dim], eps a cpu 0-d tensor: tensors only,
        # so the call can go through DJL's autograd-aware module forward
        heads, kv_heads, head_dim, e = int(dims[0]), int(dims[1]), int(dims[2]), float(eps)
        s, length = context.size(0), context.size(1)
        ck = self.norm(F.linear(context, k_w).view(s, length, kv_heads, head_dim), k_norm, e)
        ck = self.rotate(ck.transpose(1, 2), context_cos, context_sin)
        cv = F.linear(context, v_w).view(s, length, kv_heads, head_dim).transpose(1, 2)
        q = x.size(1)
        h = self.norm(x, input_norm, e)
        qh = self.norm(F.linear(h, q_w).view(s, q, heads, head_dim), q_norm, e)
        qh = self.rotate(qh.transpose(1, 2), block_cos, block_sin)
        kb = self.norm(F.linear(h, k_w).view(s, q, kv_heads, head_dim), k_norm, e)
        kb = self.rotate(kb.transpose(1, 2), block_cos, block_sin)
        vb = F.linear(h, v_w).view(s, q, kv_heads, head_dim).transpose(1, 2)
        k, v = self.expand(qh, torch.cat((ck, kb), 2), torch.cat((cv, vb), 2))
        a = F.scaled_dot_product_attention(qh, k, v, attn_mask=mask)
        x = x + F.linear(a.transpose(1, 2).reshape(s, q, heads * head_dim), o_w)
        h = self.norm(x, post_norm, e)
        return x + F.linear(F.silu(F.linear(h, gate)) * F.linear(h, up), down)

    def norm(self, x: Tensor, weight: Tensor, eps: float) -> Tensor:
        h = x.to(torch.float32)
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + eps)
        return weight * h.to(x.dtype)

    def rotate(self, x: Tensor, cos: Tensor, signed_sin: Tensor) -> Tensor:
        half = x.size(-1) // 2
        return x * cos + torch.cat((x[..., half:], x[..., :half]), -1) * signed_sin

    @torch.jit.export
    def swiglu(self, x: Tensor, gate: Tensor, up: Tensor, down: Tensor) -> Tensor:
        return F.linear(F.silu(F.linear(x, gate)) * F.linear(x, up), down)

    @torch.jit.export
    def adamw(self, params: List[Tensor], grads: List[Tensor], exp_avgs: List[Tensor], exp_avg_sqs: List[Tensor],
              lr: float, beta1: float, beta2: float, weight_decay: float, eps: float, step_and_scale: Tensor) -> None:
        # step_and_scale: fp32 [step (already counting this one), grad_scale] on the params' device
        step = step_and_scale[0]
        steps = [step for _ in range(len(params))]
        torch._fused_adamw_(params, grads, exp_avgs, exp_avg_sqs, [], steps, lr=lr, beta1=beta1, beta2=beta2,
                            weight_decay=weight_decay, eps=eps, amsgrad=False, maximize=False,
                            grad_scale=step_and_scale[1:2], found_inf=None)

    @torch.jit.export
    def global_norm(self, tensors: List[Tensor]) -> Tensor:
        norms = torch._foreach_norm(tensors, 2.0)
        return torch.linalg.vector_norm(torch.stack(norms).to(torch.float32), 2.0)


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "api/src/main/resources/dev/blockdraft/nn/fused_ops.pt"
    module = torch.jit.script(FusedOps())
    module.save(out)
    print(f"wrote {out} with torch {torch.__version__}")
