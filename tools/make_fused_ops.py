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
  frozen_forward(ids, embed, weights, keys, values, offset, positions, mask, rope tables, final norm,
                 lm head, capture, logits, dims, eps)
                                a frozen model's whole forward over new tokens in one call: every layer,
                                the KV cache written in place, the final norm and LM head; a decode or
                                verification step is one call instead of ~40 per layer
  drafter_context(features, fc, hidden norm, weights, keys, values, offset, rope tables, dims, eps)
                                a drafter's context keys and values of newly verified tokens, written into its
                                cache in place, one call
  drafter_block(ids, embed, weights, keys, values, length, rope tables, final norm, lm head, dims, eps)
                                the drafter's logits for one block after its cached context, one call
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
from typing import List, Optional, Tuple

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

    @torch.jit.export
    def frozen_forward(self, ids: Tensor, embed: Tensor, weights: List[Tensor], keys: List[Tensor],
                       values: List[Tensor], offset: int, positions: Tensor, mask: Tensor, cos_table: Tensor,
                       signed_sin_table: Tensor, final_norm: Tensor, lm_head: Tensor, capture: List[int],
                       logits: int, heads: int, kv_heads: int, head_dim: int, eps: float) -> List[Tensor]:
        # a frozen Llama / Qwen2 / Qwen3 over new tokens ids (B, T), as blockdraft's LlamaModel.forward:
        # - weights: 14 per layer in decoder_layer's order (empty bias / q-k norm tensors mean "none");
        # - keys, values: the KV cache's per-layer (B, G, capacity, D) buffers, written in place at
        #   offset..offset+T and attended up to there; empty lists: no cache (offset 0);
        # - positions (B, 1, T) int64, or empty: offset..offset+T for every row;
        # - mask: additive or boolean, broadcastable to (B, 1, T, offset+T), or empty: causal;
        # - logits: 0 none, 1 the last position's, 2 every position's.
        # Returns [logits (empty for 0), the output of each capture layer in capture's order].
        b, t = ids.size(0), ids.size(1)
        s = offset + t
        x = F.embedding(ids, embed)
        # rotary factors laid out for q and k before their transpose: (B, T, 1, D) or (T, 1, D)
        if positions.numel() > 0:
            cos = F.embedding(positions, cos_table).transpose(1, 2)
            sin = F.embedding(positions, signed_sin_table).transpose(1, 2)
        else:
            cos = cos_table[offset:s].unsqueeze(1)
            sin = signed_sin_table[offset:s].unsqueeze(1)
        attn_mask: Optional[Tensor] = None
        causal = False
        if mask.numel() > 0:
            attn_mask = mask
        elif t > 1:
            if offset == 0:
                causal = True
            else:  # query i (at position offset + i) sees keys 0..offset + i
                attn_mask = (torch.arange(s, device=x.device).view(1, s)
                             <= torch.arange(offset, s, device=x.device).view(t, 1))
        captured: List[Tensor] = []
        for c in capture:
            captured.append(x)  # placeholders, replaced below in capture's order
        for layer in range(len(weights) // 14):
            w = weights[14 * layer:14 * layer + 14]
            h = self.norm(x, w[0], eps)
            q = F.linear(h, w[1])
            k = F.linear(h, w[2])
            v = F.linear(h, w[3])
            if w[5].numel() > 0:
                q = q + w[5]
                k = k + w[6]
                v = v + w[7]
            q = q.view(b, t, heads, head_dim)
            k = k.view(b, t, kv_heads, head_dim)
            if w[8].numel() > 0:
                q = self.norm(q, w[8], eps)
                k = self.norm(k, w[9], eps)
            qk = self.rotate(torch.cat((q, k), 2), cos, sin)  # one rotation for both
            q = qk[:, :, :heads].transpose(1, 2)
            k = qk[:, :, heads:].transpose(1, 2)
            v = v.view(b, t, kv_heads, head_dim).transpose(1, 2)
            if len(keys) > 0:
                key_cache = keys[layer]
                value_cache = values[layer]
                key_cache[:, :, offset:s] = k.to(key_cache.dtype)
                value_cache[:, :, offset:s] = v.to(value_cache.dtype)
                k = key_cache[:, :, :s].to(q.dtype)
                v = value_cache[:, :, :s].to(q.dtype)
            x = self.linear_add(x, self.attend(q, k, v, attn_mask, causal), w[4])
            h = self.norm(x, w[10], eps)
            x = self.linear_add(x, F.silu(F.linear(h, w[11])) * F.linear(h, w[12]), w[13])
            for i in range(len(capture)):
                if capture[i] == layer:
                    captured[i] = x
        out = [torch.empty(0, dtype=x.dtype, device=x.device)]
        if logits == 1:
            out[0] = F.linear(self.norm(x[:, t - 1:], final_norm, eps), lm_head)
        elif logits == 2:
            out[0] = F.linear(self.norm(x, final_norm, eps), lm_head)
        return out + captured

    @torch.jit.export
    def drafter_context(self, features: Tensor, fc: Tensor, hidden_norm: Tensor, weights: List[Tensor],
                        keys: List[Tensor], values: List[Tensor], offset: int, cos_table: Tensor,
                        signed_sin_table: Tensor, kv_heads: int, head_dim: int, eps: float) -> None:
        # blockdraft's Drafter.appendContext in one call: target features (1, T, F) of newly verified tokens
        # at positions offset..offset+T-1 -> context states (fc, hidden norm) -> each layer's context keys
        # (k-norm, rope) and values, written in place into the drafter's cache buffers (1, G, capacity, D).
        # weights: 11 per layer in drafter_layer's order (only k, v and the k norm are read).
        t = features.size(1)
        context = self.norm(F.linear(features, fc), hidden_norm, eps)
        cos = cos_table[offset:offset + t].unsqueeze(1)  # (T, 1, D): before the transpose
        sin = signed_sin_table[offset:offset + t].unsqueeze(1)
        for layer in range(len(weights) // 11):
            w = weights[11 * layer:11 * layer + 11]
            ck = self.norm(F.linear(context, w[2]).view(1, t, kv_heads, head_dim), w[6], eps)
            ck = self.rotate(ck, cos, sin).transpose(1, 2)
            cv = F.linear(context, w[3]).view(1, t, kv_heads, head_dim).transpose(1, 2)
            keys[layer][:, :, offset:offset + t] = ck.to(keys[layer].dtype)
            values[layer][:, :, offset:offset + t] = cv.to(values[layer].dtype)

    @torch.jit.export
    def drafter_block(self, ids: Tensor, embed: Tensor, weights: List[Tensor], keys: List[Tensor],
                      values: List[Tensor], length: int, cos_table: Tensor, signed_sin_table: Tensor,
                      final_norm: Tensor, lm_head: Tensor, heads: int, kv_heads: int, head_dim: int,
                      eps: float) -> Tensor:
        # blockdraft's Drafter.blockLogits in one call: the block ids (1, B) = [anchor, mask...] at positions
        # p..p+B-1 (p = length) after the cached context keys and values (drafter_context's) at 0..p-1; every
        # layer as drafter_layer with no mask (the block sees the whole context and itself), then the final
        # norm and the target's LM head over slots 1..B-1: logits (B-1, V). weights: 11 per layer.
        p, n = length, ids.size(1)
        x = F.embedding(ids, embed)
        cos = cos_table[p:p + n].unsqueeze(1)  # (B, 1, D): before the transpose
        sin = signed_sin_table[p:p + n].unsqueeze(1)
        for layer in range(len(weights) // 11):
            w = weights[11 * layer:11 * layer + 11]
            h = self.norm(x, w[0], eps)
            qh = self.norm(F.linear(h, w[1]).view(1, n, heads, head_dim), w[5], eps)
            kb = self.norm(F.linear(h, w[2]).view(1, n, kv_heads, head_dim), w[6], eps)
            qk = self.rotate(torch.cat((qh, kb), 2), cos, sin)  # one rotation for both
            qh = qk[:, :, :heads].transpose(1, 2)
            kb = qk[:, :, heads:].transpose(1, 2)
            vb = F.linear(h, w[3]).view(1, n, kv_heads, head_dim).transpose(1, 2)
            key_cache = keys[layer]
            value_cache = values[layer]
            if p + n <= key_cache.size(2):
                # the block's keys and values where the next verified tokens' context will overwrite them: no
                # concatenation of the whole context per layer
                key_cache[:, :, p:p + n] = kb.to(key_cache.dtype)
                value_cache[:, :, p:p + n] = vb.to(value_cache.dtype)
                k = key_cache[:, :, :p + n].to(qh.dtype)
                v = value_cache[:, :, :p + n].to(qh.dtype)
            else:
                k = torch.cat((key_cache[:, :, :p].to(qh.dtype), kb), 2)
                v = torch.cat((value_cache[:, :, :p].to(qh.dtype), vb), 2)
            x = self.linear_add(x, self.attend(qh, k, v, None, False), w[4])
            h = self.norm(x, w[7], eps)
            x = self.linear_add(x, F.silu(F.linear(h, w[8])) * F.linear(h, w[9]), w[10])
        return F.linear(self.norm(x[0, 1:], final_norm, eps), lm_head)

    def norm(self, x: Tensor, weight: Tensor, eps: float) -> Tensor:
        # HF's formula (fp32 inside, weight times the result cast back), one fused kernel on CUDA
        return F.rms_norm(x, [x.size(-1)], weight, eps)

    def rotate(self, x: Tensor, cos: Tensor, signed_sin: Tensor) -> Tensor:
        half = x.size(-1) // 2
        return torch.addcmul(x * cos, torch.cat((x[..., half:], x[..., :half]), -1), signed_sin)

    def linear_add(self, x: Tensor, h: Tensor, weight: Tensor) -> Tensor:
        # x + h W^T as one GEMM with x as its addend
        c = x.size(-1)
        return torch.addmm(x.reshape(-1, c), h.reshape(-1, h.size(-1)), weight.t()).view(x.shape)

    def attend(self, q: Tensor, k: Tensor, v: Tensor, mask: Optional[Tensor], causal: bool) -> Tensor:
        # q (B, H, T, D) over k/v (B, G, S, D) -> (B, T, H·D). Without a causal flag, the r = H / G query heads that share a kv
        # head are attended as r·T rows of one head (the mask repeated per row) instead of copying the keys and
        # values r times: the same maths, and no copy of the whole cache per layer and token
        b, h, t, d = q.size(0), q.size(1), q.size(2), q.size(3)
        r = h // k.size(1)
        if r == 1 or causal:
            k, v = self.expand(q, k, v)
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal)
            return a.transpose(1, 2).reshape(b, t, h * d)
        g = k.size(1)
        qg = q.reshape(b, g, r * t, d)
        if mask is not None:
            m = mask
            while m.dim() < 4:
                m = m.unsqueeze(0)
            if m.size(1) == 1:
                m = m.unsqueeze(2).expand(m.size(0), 1, r, t, m.size(3)).reshape(m.size(0), 1, r * t, m.size(3))
            else:
                m = m.reshape(m.size(0), g, r * t, m.size(3))
            mask = m
        a = F.scaled_dot_product_attention(qg, k, v, attn_mask=mask)  # (B, G, r·T, D)
        return a.reshape(b, g, r, t, d).permute(0, 3, 1, 2, 4).reshape(b, t, h * d)

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
