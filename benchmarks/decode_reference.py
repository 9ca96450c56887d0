#!/usr/bin/env python3
"""Decoding reference: `transformers` generate at batch 1 on the Llama of blockdraft's `bench decode`.

The same shape as `bench decode`'s default random target (dev.blockdraft.cli.BenchCommand:
Lt=12 layers, C=768, H=12 heads, G=4 kv heads, I=2048, V=4096, tied embeddings, RoPE theta 10000,
RMSNorm eps 1e-6, context = prompt + new tokens + 32), random-init weights (no network), greedy
decoding of --max-new-tokens (128) after each of --prompts (4) random prompts of --prompt-len (32)
tokens, no stop token. Variants (--variants, in this order by default):

  fp32-eager            fp32 weights, the default dynamic cache, no compilation
  bf16-eager            bf16 weights, dynamic cache, no compilation
  bf16-static-compiled  bf16 weights, cache_implementation="static"; generate compiles the decoding
                        forward itself (transformers' automatic compilation for a compileable cache,
                        CUDA only; CompileConfig's default mode is reduce-overhead = CUDA graphs), or
                        with --compile-how manual: model.forward = torch.compile(model.forward,
                        mode="reduce-overhead", fullgraph=True) and automatic compilation off
  bf16-static-eager     (not run by default) the static cache without compilation

Timing: per variant, --warmup untimed passes over the prompts (compilation, graph capture,
allocator), then --repeats timed passes; each pass syncs the device before and after and decodes
every prompt (prefill included, as blockdraft's Generator times it). tokens/s = new tokens of the
pass / its seconds; the JSON line gives the median pass and the min-max, warm-up excluded.
Attention is SDPA (transformers' default; --attn eager for the explicit one); TF32 off unless --tf32.

One JSON line per variant on stdout ("variant", "tokens_per_s", "shapes", ...), progress on stderr;
`bench decode --reference FILE` reads these lines and prints blockdraft / reference per variant.
  python3 benchmarks/decode_reference.py > decode_ref.jsonl
"""
import argparse
import inspect
import json
import statistics
import sys
import time

import torch
import transformers
from transformers import LlamaConfig, LlamaForCausalLM

VARIANTS = {  # name: (dtype, static cache, compiled)
    "fp32-eager": (torch.float32, False, False),
    "bf16-eager": (torch.bfloat16, False, False),
    "bf16-static-compiled": (torch.bfloat16, True, True),
    "bf16-static-eager": (torch.bfloat16, True, False),
}
DEFAULT_VARIANTS = "fp32-eager,bf16-eager,bf16-static-compiled"


def make_config(a):
    kw = dict(vocab_size=a.V, hidden_size=a.C, intermediate_size=a.I, num_hidden_layers=a.Lt,
              num_attention_heads=a.H, num_key_value_heads=a.G, max_position_embeddings=a.context,
              rms_norm_eps=1e-6, tie_word_embeddings=True, bos_token_id=0, eos_token_id=None, pad_token_id=0,
              initializer_range=0.02, attn_implementation=a.attn)
    # transformers 5 names the rotary settings rope_parameters; 4.x had rope_theta
    if "rope_parameters" in inspect.signature(LlamaConfig.__init__).parameters:
        kw["rope_parameters"] = {"rope_type": "default", "rope_theta": 10_000.0}
    else:
        kw["rope_theta"] = 10_000.0
    return LlamaConfig(**kw)


def make_model(a, dtype, device):
    torch.manual_seed(a.seed)  # the same random weights for every variant, cast to its dtype
    model = LlamaForCausalLM(make_config(a)).to(dtype).to(device).eval()
    gc = model.generation_config
    gc.eos_token_id = None  # decode exactly max_new_tokens, as bench decode does
    gc.pad_token_id = 0
    gc.do_sample = False
    gc.temperature = gc.top_p = gc.top_k = None  # greedy: no sampling settings to warn about
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--Lt", type=int, default=12, help="layers")
    ap.add_argument("--C", type=int, default=768, help="hidden size")
    ap.add_argument("--H", type=int, default=12, help="attention heads")
    ap.add_argument("--G", type=int, default=4, help="kv heads")
    ap.add_argument("--I", type=int, default=2048, help="MLP width")
    ap.add_argument("--V", type=int, default=4096, help="vocabulary")
    ap.add_argument("--B", type=int, default=16, help="bench decode's block size: its context is prompt + new + 2*B")
    ap.add_argument("--prompts", type=int, default=4)
    ap.add_argument("--prompt-len", type=int, default=32)
    ap.add_argument("--max-new-tokens", type=int, default=128)
    ap.add_argument("--variants", default=DEFAULT_VARIANTS, help=f"comma-separated of {', '.join(VARIANTS)}")
    ap.add_argument("--compile-how", choices=["auto", "manual"], default="auto",
                    help="bf16-static-compiled: generate's automatic compilation, or torch.compile(model.forward)")
    ap.add_argument("--compile-mode", default="reduce-overhead", help="torch.compile mode for --compile-how manual")
    ap.add_argument("--attn", choices=["sdpa", "eager"], default="sdpa")
    ap.add_argument("--tf32", action="store_true", help="allow TF32 matmuls (fp32 variant)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed passes over the prompts per variant")
    ap.add_argument("--repeats", type=int, default=5, help="timed passes over the prompts per variant")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = ap.parse_args()
    variants = [v.strip() for v in a.variants.split(",") if v.strip()]
    for v in variants:
        if v not in VARIANTS:
            ap.error(f"--variants: unknown {v!r}; valid: {', '.join(VARIANTS)}")
    if a.C % a.H or a.H % a.G or (a.C // a.H) % 2:
        ap.error("need H | C, G | H and an even head dim")
    if a.warmup < 1 or a.repeats < 1 or a.prompts < 1 or a.prompt_len < 1 or a.max_new_tokens < 1:
        ap.error("--warmup, --repeats, --prompts, --prompt-len and --max-new-tokens must be at least 1")
    a.context = a.prompt_len + a.max_new_tokens + 2 * a.B

    dev = torch.device(a.device)
    cuda = dev.type == "cuda"
    torch.backends.cuda.matmul.allow_tf32 = a.tf32
    torch.backends.cudnn.allow_tf32 = a.tf32
    gen = torch.Generator().manual_seed(a.seed)
    prompts = [torch.randint(0, a.V - 1, (1, a.prompt_len), generator=gen).to(dev) for _ in range(a.prompts)]

    def sync():
        if cuda:
            torch.cuda.synchronize(dev)

    gpu = torch.cuda.get_device_name(dev) if cuda else "cpu"
    for name in variants:
        dtype, static, compiled = VARIANTS[name]
        model = make_model(a, dtype, dev)
        kw = dict(max_new_tokens=a.max_new_tokens, do_sample=False, num_beams=1)  # no eos: every token decoded
        how = None
        if static:
            kw["cache_implementation"] = "static"
            if not compiled:
                kw["disable_compile"] = True  # transformers would otherwise compile a static-cache decode itself
            elif a.compile_how == "manual":
                kw["disable_compile"] = True
                model.forward = torch.compile(model.forward, mode=a.compile_mode, fullgraph=True)
                how = f"torch.compile(model.forward, mode={a.compile_mode!r}, fullgraph=True)"
            else:
                if not cuda:
                    print(f"{name}: transformers compiles automatically on CUDA only; this run is not compiled",
                          file=sys.stderr)
                how = "generate's automatic compilation (GenerationConfig.compile_config defaults)"

        def one_pass():
            sync()
            t0 = time.perf_counter()
            new = 0
            first = None
            for p in prompts:  # generate runs under no_grad itself
                out = model.generate(p, attention_mask=torch.ones_like(p), **kw)
                new += out.shape[1] - p.shape[1]
                first = out[0, p.shape[1]:].tolist() if first is None else first
            sync()
            return new, time.perf_counter() - t0, first

        t_warm = time.perf_counter()
        for w in range(a.warmup):
            n, s, _ = one_pass()
            print(f"{name} warm-up {w}: {n} tokens in {s:.2f} s", file=sys.stderr)
        warm_s = time.perf_counter() - t_warm
        rates, tokens = [], None
        for r in range(a.repeats):
            n, s, tokens = one_pass()
            if n != a.prompts * a.max_new_tokens:
                raise SystemExit(f"{name}: decoded {n} tokens, expected {a.prompts * a.max_new_tokens} (a stop token?)")
            rates.append(n / s)
            print(f"{name} pass {r}: {n / s:.1f} tokens/s", file=sys.stderr)
        result = {
            "script": "benchmarks/decode_reference.py",
            "variant": name,
            "gpu": gpu, "torch": torch.__version__, "cuda": torch.version.cuda,
            "transformers": transformers.__version__,
            "dtype": str(dtype).replace("torch.", ""), "static_cache": static, "compiled": compiled,
            "compile_how": how, "attn": a.attn, "tf32": a.tf32, "batch": 1,
            "shapes": {"Lt": a.Lt, "C": a.C, "H": a.H, "G": a.G, "I": a.I, "V": a.V,
                       "prompt_len": a.prompt_len, "max_new_tokens": a.max_new_tokens, "context": a.context},
            "prompts": a.prompts, "warmup_passes": a.warmup, "warmup_s": warm_s, "timed_passes": a.repeats,
            "tokens_per_s": statistics.median(rates), "tokens_per_s_min": min(rates), "tokens_per_s_max": max(rates),
            "tokens_per_s_passes": rates,
            "first_prompt_tokens_head": tokens[:16],
            "peak_mem_gib": torch.cuda.max_memory_allocated(dev) / 2 ** 30 if cuda else None,
        }
        print(json.dumps(result), flush=True)
        del model
        if cuda:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(dev)


if __name__ == "__main__":
    main()
