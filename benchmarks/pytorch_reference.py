#!/usr/bin/env python3
"""PyTorch twin of blockdraft's drafter training step (the code a researcher would write).

Mirrors dev.blockdraft.draft.Drafter / dev.blockdraft.lm.LlamaModel / dev.blockdraft.nn.Ops:

  target   frozen Llama (RMSNorm, RoPE theta 10000, GQA, SwiGLU, tied embeddings), forward under
           no_grad on ids (S, L); outputs of `--feature-layers` concatenated -> (S, L, n*C)
  blocks   per sequence m anchors a ~ U[1, L-B]; queries [ids[a], MASK x (B-1)] at positions
           a..a+B-1; labels ids[a+1..a+B-1]
  drafter  ctx = RMSNorm(fc(features)); Ld Qwen3-style layers (q/k RMSNorm per head, RoPE, GQA,
           SwiGLU) over the embedded block tokens (target's frozen embedding), each layer's K/V =
           [k/v_proj(ctx) (k_norm + RoPE at 0..L-1) ; k/v_proj(block)]; mask: a block's queries see
           context keys j < a and their own block (bidirectional), nothing else; final RMSNorm ->
           target's frozen LM head on the B-1 slot positions -> mean cross-entropy
  step     backward, global-norm clip 1.0, AdamW(lr 3e-4, betas 0.9/0.95, wd 0.01)

bf16 autocast (or fp32) + scaled_dot_product_attention (or eager attention), in eager mode; with
--compile, what a strong PyTorch user runs: forward + loss under torch.compile (--mode default or
reduce-overhead, i.e. CUDA graphs) and the fused AdamW kernel (torch.optim.AdamW(fused=True)); the
backward, clip and optimizer step stay outside the compiled function, as in most training scripts.
Prints per-step info to stderr and one JSON line with shapes and results on stdout; its "variant"
(e.g. bf16-sdpa-eager, bf16-sdpa-compile-reduce-overhead) names the run for `bench train --reference`.
"""
import argparse
import json
import math
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


# ---- building blocks (HF Llama/Qwen3 conventions) -----------------------------------------

class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        dtype = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dtype)


def rope_tables(max_pos, head_dim, theta, device):
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, device=device, dtype=torch.float32) / head_dim))
    ang = torch.arange(max_pos, device=device, dtype=torch.float32)[:, None] * inv_freq[None, :]
    emb = torch.cat([ang, ang], dim=-1)  # (P, D)
    return emb.cos(), emb.sin()


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([-x2, x1], dim=-1)


def apply_rope(x, pos, cos, sin):
    """x (S, heads, T, D); pos (S, T) int64."""
    c = cos[pos].unsqueeze(1).to(x.dtype)  # (S, 1, T, D)
    s = sin[pos].unsqueeze(1).to(x.dtype)
    return x * c + rotate_half(x) * s


def attention(q, k, v, mask, is_causal, impl):
    """q (S, H, T, D), k/v (S, G, K, D); mask bool (S, 1, T, K) True = may attend, or None."""
    h, g = q.shape[1], k.shape[1]
    if h != g:
        k = k.repeat_interleave(h // g, dim=1)
        v = v.repeat_interleave(h // g, dim=1)
    if impl == "sdpa":
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=is_causal)
    scores = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    if is_causal:
        t, kk = q.shape[2], k.shape[2]
        mask = torch.ones(t, kk, dtype=torch.bool, device=q.device).tril(kk - t)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return scores.softmax(-1).to(v.dtype) @ v


class MLP(nn.Module):
    def __init__(self, c, i):
        super().__init__()
        self.gate_proj = nn.Linear(c, i, bias=False)
        self.up_proj = nn.Linear(c, i, bias=False)
        self.down_proj = nn.Linear(i, c, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Attn(nn.Module):
    def __init__(self, c, h, g, qk_norm, eps):
        super().__init__()
        self.h, self.g, self.d = h, g, c // h
        self.q_proj = nn.Linear(c, h * self.d, bias=False)
        self.k_proj = nn.Linear(c, g * self.d, bias=False)
        self.v_proj = nn.Linear(c, g * self.d, bias=False)
        self.o_proj = nn.Linear(h * self.d, c, bias=False)
        self.q_norm = RMSNorm(self.d, eps) if qk_norm else None
        self.k_norm = RMSNorm(self.d, eps) if qk_norm else None


# ---- target: frozen Llama ----------------------------------------------------------------

class TargetLayer(nn.Module):
    def __init__(self, c, h, g, i, eps):
        super().__init__()
        self.input_layernorm = RMSNorm(c, eps)
        self.self_attn = Attn(c, h, g, qk_norm=False, eps=eps)
        self.post_attention_layernorm = RMSNorm(c, eps)
        self.mlp = MLP(c, i)

    def forward(self, x, pos, cos, sin, impl):
        a = self.self_attn
        s, t, _ = x.shape
        xn = self.input_layernorm(x)
        q = a.q_proj(xn).view(s, t, a.h, a.d).transpose(1, 2)
        k = a.k_proj(xn).view(s, t, a.g, a.d).transpose(1, 2)
        v = a.v_proj(xn).view(s, t, a.g, a.d).transpose(1, 2)
        q, k = apply_rope(q, pos, cos, sin), apply_rope(k, pos, cos, sin)
        o = attention(q, k, v, None, True, impl).transpose(1, 2).reshape(s, t, a.h * a.d)
        x = x + a.o_proj(o)
        return x + self.mlp(self.post_attention_layernorm(x))


class Target(nn.Module):
    def __init__(self, v, c, h, g, i, layers, eps=1e-6):
        super().__init__()
        self.embed_tokens = nn.Embedding(v, c)
        self.layers = nn.ModuleList(TargetLayer(c, h, g, i, eps) for _ in range(layers))
        self.norm = RMSNorm(c, eps)  # unused by the drafter step (features are raw layer outputs)

    @property
    def lm_head_weight(self):  # tied
        return self.embed_tokens.weight

    @torch.no_grad()
    def features(self, ids, feature_layers, cos, sin, impl):
        s, t = ids.shape
        pos = torch.arange(t, device=ids.device).expand(s, t)
        x = self.embed_tokens(ids)
        out = []
        for l, layer in enumerate(self.layers):
            x = layer(x, pos, cos, sin, impl)
            if l in feature_layers:
                out.append(x)
            if l >= max(feature_layers):
                break  # later layers feed nothing (blockdraft runs them; see README)
        return torch.cat(out, dim=-1)  # (S, L, n*C)


# ---- drafter --------------------------------------------------------------------------------

class DrafterLayer(nn.Module):
    def __init__(self, c, h, g, i, eps):
        super().__init__()
        self.input_layernorm = RMSNorm(c, eps)
        self.self_attn = Attn(c, h, g, qk_norm=True, eps=eps)
        self.post_attention_layernorm = RMSNorm(c, eps)
        self.mlp = MLP(c, i)

    def forward(self, x, pos, ctx, ctx_pos, mask, cos, sin, impl):
        a = self.self_attn
        s, q_len, _ = x.shape
        l = ctx.shape[1]
        # injected context K/V: no input norm on ctx (it is hidden_norm'ed already), as Drafter.contextKv
        ck = a.k_norm(a.k_proj(ctx).view(s, l, a.g, a.d)).transpose(1, 2)
        ck = apply_rope(ck, ctx_pos, cos, sin)
        cv = a.v_proj(ctx).view(s, l, a.g, a.d).transpose(1, 2)
        xn = self.input_layernorm(x)
        q = a.q_norm(a.q_proj(xn).view(s, q_len, a.h, a.d)).transpose(1, 2)
        q = apply_rope(q, pos, cos, sin)
        kb = a.k_norm(a.k_proj(xn).view(s, q_len, a.g, a.d)).transpose(1, 2)
        kb = apply_rope(kb, pos, cos, sin)
        vb = a.v_proj(xn).view(s, q_len, a.g, a.d).transpose(1, 2)
        k = torch.cat([ck, kb], dim=2)  # (S, G, L+Q, D): context first, then the blocks
        v = torch.cat([cv, vb], dim=2)
        o = attention(q, k, v, mask, False, impl).transpose(1, 2).reshape(s, q_len, a.h * a.d)
        x = x + a.o_proj(o)
        return x + self.mlp(self.post_attention_layernorm(x))


class Drafter(nn.Module):
    def __init__(self, c, h, g, i, layers, n_features, eps=1e-6):
        super().__init__()
        self.fc = nn.Linear(n_features * c, c, bias=False)
        self.hidden_norm = RMSNorm(c, eps)
        self.layers = nn.ModuleList(DrafterLayer(c, h, g, i, eps) for _ in range(layers))
        self.norm = RMSNorm(c, eps)

    def forward(self, block_emb, block_pos, features, mask, cos, sin, impl):
        s, l, _ = features.shape
        ctx = self.hidden_norm(self.fc(features))
        ctx_pos = torch.arange(l, device=features.device).expand(s, l)
        x = block_emb
        for layer in self.layers:
            x = layer(x, block_pos, ctx, ctx_pos, mask, cos, sin, impl)
        return self.norm(x)


def init_weights(module, std=0.02):
    for name, p in module.named_parameters():
        if name.endswith("norm.weight"):
            nn.init.ones_(p)
        else:
            nn.init.normal_(p, 0.0, std)


# ---- one training step ------------------------------------------------------------------

def make_batch(args, gen, device):
    s, l, m, b = args.S, args.L, args.m, args.B
    ids = torch.randint(0, args.V - 1, (s, l), device=device, generator=gen)  # V-1 is the mask id
    anchors = torch.randint(1, l - b + 1, (s, m), device=device, generator=gen)  # a in [1, L-B]
    offs = torch.arange(b, device=device)
    pos = (anchors[:, :, None] + offs).reshape(s, m * b)  # (S, Q) positions a..a+B-1
    block_ids = torch.full((s, m, b), args.mask_id, device=device, dtype=torch.long)
    block_ids[:, :, 0] = torch.gather(ids, 1, anchors)
    labels = torch.gather(ids, 1, (anchors[:, :, None] + offs[1:]).reshape(s, -1)).reshape(s * m, b - 1)
    # mask (S, 1, Q, L+Q): context keys j < a of the query's block; keys of its own block
    qblock = torch.arange(m * b, device=device) // b  # (Q,)
    a_q = anchors[:, qblock]  # (S, Q)
    ctx_ok = torch.arange(l, device=device)[None, None, :] < a_q[:, :, None]  # (S, Q, L)
    blk_ok = (qblock[:, None] == qblock[None, :]).expand(s, -1, -1)  # (S, Q, Q)
    mask = torch.cat([ctx_ok, blk_ok], dim=-1).unsqueeze(1)
    return ids, block_ids.reshape(s, m * b), pos, labels, mask


def forward_loss(target, drafter, batch, args, cos, sin, autocast):
    """Target features, drafter, slot logits and the mean cross-entropy: the part --compile compiles."""
    ids, block_ids, pos, labels, mask = batch
    with autocast():
        feats = target.features(ids, args.feature_layers, cos, sin, args.attn)  # no_grad
        emb = target.embed_tokens(block_ids)  # frozen
        h = drafter(emb, pos, feats, mask, cos, sin, args.attn)  # (S, Q, C)
        h = h.view(args.S, args.m, args.B, -1)[:, :, 1:, :].reshape(-1, h.shape[-1])  # the B-1 slots
        logits = F.linear(h, target.lm_head_weight)  # frozen tied head, (S*m*(B-1), V)
        loss = F.cross_entropy(logits.float(), labels.reshape(-1))
    return loss


def train_step(loss_fn, target, drafter, opt, batch, args, cos, sin, autocast):
    if args.compile and args.mode == "reduce-overhead":
        # CUDA graphs reuse their output buffers: tell them a new iteration starts (the last loss was read)
        torch.compiler.cudagraph_mark_step_begin()
    loss = loss_fn(target, drafter, batch, args, cos, sin, autocast)
    loss.backward()
    gnorm = torch.nn.utils.clip_grad_norm_(drafter.parameters(), 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
    return loss, gnorm


# ---- FLOPs --------------------------------------------------------------------------------

def flop_count(a):
    """Model FLOPs of one step (matmuls + attention; norms, softmax, RoPE, optimizer not counted).

    D = C/H. Per-token matmul parameters:
      target layer   N_tl = 2*C*H*D + 2*C*G*D + 3*C*I          (forward only: 2 FLOPs/param/token)
      drafter layer  N_dl = 2*C*H*D + 2*C*G*D + 3*C*I           over the S*m*B block tokens
                     N_kv = 2*C*G*D                             over the S*L context tokens
      fc             n*C*C                                      over the S*L context tokens
      LM head        V*C (frozen)                               over the S*m*(B-1) slots
    train step = 2*Lt'*N_tl*S*L + Lt'*2*S*H*D*L^2               (target fwd; causal attention = half of 4*S*H*D*L^2)
               + 6*Ld*N_dl*S*m*B + 6*Ld*N_kv*S*L               (drafter fwd+bwd)
               + 4*n*C*C*S*L                                    (fc: fwd + weight grad; features need no grad)
               + 4*V*C*S*m*(B-1)                                (head: fwd + input grad; frozen weight)
               + 3*Ld*4*S*H*D*Q*(L+Q)                           (drafter attention, dense over all keys, fwd+bwd)
    with Lt' = max(feature_layers)+1 target layers actually run and Q = m*B.
    """
    c, h, g, i, d = a.C, a.H, a.G, a.I, a.C // a.H
    lt = max(a.feature_layers) + 1
    n = len(a.feature_layers)
    q = a.m * a.B
    n_tl = 2 * c * h * d + 2 * c * g * d + 3 * c * i
    n_kv = 2 * c * g * d
    target = 2 * lt * n_tl * a.S * a.L + lt * 2 * a.S * h * d * a.L ** 2
    drafter = (6 * a.Ld * n_tl * a.S * q + 6 * a.Ld * n_kv * a.S * a.L + 4 * n * c * c * a.S * a.L
               + 4 * a.V * c * a.S * a.m * (a.B - 1) + 3 * a.Ld * 4 * a.S * h * d * q * (a.L + q))
    return target, drafter


def peak_tflops(name, dtype, tf32):
    """Dense (no sparsity) peak of the card for the step's matmul precision, or None if unknown."""
    n = name.upper()
    table = [  # (substring, bf16, tf32)
        ("H200", 989.4, 494.7), ("H100 PCIE", 756.0, 378.0), ("H100", 989.4, 494.7),
        ("A100", 312.0, 156.0), ("L40S", 362.1, 183.0), ("A10G", 70.0, 35.0),
    ]
    for key, bf16, t32 in table:
        if key in n:
            if dtype == "bf16":
                return bf16
            return t32 if tf32 else None
    return None


def variant_name(a):
    """The run's name in `bench train --reference` tables, e.g. bf16-sdpa-compile-reduce-overhead."""
    return f"{a.dtype}-{a.attn}-" + (f"compile-{a.mode}" if a.compile else "eager") + ("-tf32" if a.tf32 else "")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--Lt", type=int, default=12, help="target layers")
    ap.add_argument("--C", type=int, default=768, help="hidden size")
    ap.add_argument("--H", type=int, default=12, help="attention heads")
    ap.add_argument("--G", type=int, default=4, help="kv heads")
    ap.add_argument("--I", type=int, default=2048, help="MLP width")
    ap.add_argument("--V", type=int, default=4096, help="vocabulary")
    ap.add_argument("--Ld", type=int, default=2, help="drafter layers")
    ap.add_argument("--B", type=int, default=16, help="block size (anchor + B-1 slots)")
    ap.add_argument("--feature-layers", type=lambda s: [int(x) for x in s.split(",")], default=[1, 6, 11])
    ap.add_argument("--S", type=int, default=8, help="sequences per step")
    ap.add_argument("--L", type=int, default=1024, help="sequence length")
    ap.add_argument("--m", type=int, default=32, help="anchors (blocks) per sequence")
    ap.add_argument("--mask-id", type=int, default=None, help="default V-1")
    ap.add_argument("--dtype", choices=["bf16", "fp32"], default="bf16")
    ap.add_argument("--attn", choices=["sdpa", "eager"], default="sdpa")
    ap.add_argument("--tf32", action="store_true", help="allow TF32 matmuls (for --dtype fp32)")
    ap.add_argument("--compile", action="store_true",
                    help="torch.compile forward + loss, fused AdamW (the eager default: neither)")
    ap.add_argument("--mode", choices=["default", "reduce-overhead"], default="default",
                    help="torch.compile mode with --compile (reduce-overhead = CUDA graphs)")
    ap.add_argument("--warmup", type=int, default=None,
                    help="untimed steps first (default 5; 10 with --compile: compilation and graph capture)")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = ap.parse_args()
    a.mask_id = a.V - 1 if a.mask_id is None else a.mask_id
    a.warmup = (10 if a.compile else 5) if a.warmup is None else a.warmup
    if a.warmup < 1:
        ap.error("--warmup must be at least 1 (the first step compiles or allocates)")
    if a.C % a.H or a.H % a.G or (a.C // a.H) % 2:
        ap.error("need H | C, G | H and an even head dim")
    if max(a.feature_layers) >= a.Lt or min(a.feature_layers) < 0:
        ap.error("feature layers must lie in 0..Lt-1")
    if a.L - a.B < 1:
        ap.error("need L > B")

    dev = torch.device(a.device)
    cuda = dev.type == "cuda"
    torch.backends.cuda.matmul.allow_tf32 = a.tf32
    torch.backends.cudnn.allow_tf32 = a.tf32
    torch.manual_seed(a.seed)
    gen = torch.Generator(device=dev).manual_seed(a.seed)

    target = Target(a.V, a.C, a.H, a.G, a.I, a.Lt)
    init_weights(target)
    target.requires_grad_(False).eval()
    if a.dtype == "bf16":
        target.to(torch.bfloat16)  # frozen: stored in the compute precision
    target.to(dev)
    drafter = Drafter(a.C, a.H, a.G, a.I, a.Ld, len(a.feature_layers))
    init_weights(drafter)
    drafter.to(dev)  # fp32 master weights; autocast computes in bf16
    # fused=True: one kernel for the whole update instead of a foreach loop (CUDA, and CPU since torch 2.4)
    opt = torch.optim.AdamW(drafter.parameters(), lr=3e-4, betas=(0.9, 0.95), weight_decay=0.01,
                            fused=True if a.compile else None)
    loss_fn = torch.compile(forward_loss, mode=a.mode) if a.compile else forward_loss
    cos, sin = rope_tables(a.L + a.B, a.C // a.H, 10_000.0, dev)

    if a.dtype == "bf16":
        def autocast():
            return torch.autocast(device_type=dev.type, dtype=torch.bfloat16)
    else:
        def autocast():
            return torch.autocast(device_type=dev.type, enabled=False)

    def sync():
        if cuda:
            torch.cuda.synchronize()

    batches = [make_batch(a, gen, dev) for _ in range(4)]
    times, losses = [], []
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    t_all = time.time()
    for step in range(a.warmup + a.steps):
        batch = batches[step % len(batches)]
        if cuda:
            e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            e0.record()
        else:
            t0 = time.perf_counter()
        loss, gnorm = train_step(loss_fn, target, drafter, opt, batch, a, cos, sin, autocast)
        if cuda:
            e1.record()
            e1.synchronize()
            dt = e0.elapsed_time(e1) / 1e3
        else:
            dt = time.perf_counter() - t0
        losses.append(float(loss))
        if step >= a.warmup:
            times.append(dt)
        print(f"step {step:3d} loss {losses[-1]:.4f} |g| {float(gnorm):.3f} {dt * 1e3:8.2f} ms"
              + (" (warm-up)" if step < a.warmup else ""), file=sys.stderr)
    sync()
    wall = time.time() - t_all

    med = statistics.median(times)
    tokens = a.S * a.L
    f_target, f_drafter = flop_count(a)
    gpu = torch.cuda.get_device_name(dev) if cuda else "cpu"
    peak = peak_tflops(gpu, a.dtype, a.tf32) if cuda else None
    achieved = (f_target + f_drafter) / med / 1e12
    n_target = sum(p.numel() for p in target.parameters())
    n_drafter = sum(p.numel() for p in drafter.parameters())
    result = {
        "script": "benchmarks/pytorch_reference.py",
        "gpu": gpu, "torch": torch.__version__, "cuda": torch.version.cuda,
        "variant": variant_name(a),
        "dtype": a.dtype, "attn": a.attn, "tf32": a.tf32, "compile": a.compile,
        "mode": a.mode if a.compile else None, "fused_adamw": a.compile,
        "shapes": {"Lt": a.Lt, "C": a.C, "H": a.H, "G": a.G, "I": a.I, "V": a.V, "Ld": a.Ld, "B": a.B,
                   "feature_layers": a.feature_layers, "S": a.S, "L": a.L, "m": a.m, "Q": a.m * a.B,
                   "mask_id": a.mask_id, "target_layers_run": max(a.feature_layers) + 1},
        "params": {"target": n_target, "drafter_trainable": n_drafter},
        "steps_timed": len(times), "warmup": a.warmup,
        "step_ms_median": med * 1e3, "step_ms_min": min(times) * 1e3, "step_ms_max": max(times) * 1e3,
        "tokens_per_s": tokens / med,
        "blocks_per_s": a.S * a.m / med,
        "peak_mem_gib": torch.cuda.max_memory_allocated(dev) / 2 ** 30 if cuda else None,
        "model_tflop_per_step": {"target_fwd": f_target / 1e12, "drafter_train": f_drafter / 1e12},
        "achieved_tflops": achieved,
        "peak_tflops_assumed": peak,
        "mfu": achieved / peak if peak else None,
        "loss_first": losses[0], "loss_last": losses[-1],
        "wall_s": wall,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
