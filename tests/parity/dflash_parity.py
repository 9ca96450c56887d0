#!/usr/bin/env python3
"""Loads drafters exported by `blockdraft export --format dflash --parity-sample` with DFlash's own model code
and compares their draft logits with blockdraft's on the same context.

    python3 tests/parity/dflash_parity.py --dflash-code DIR --drafter EXPORT [--drafter EXPORT ...] [--device cpu]

DIR is a copy of z-lab/dflash (the folder holding dflash/model.py; never commit it). Each EXPORT folder holds
config.json and model.safetensors in DFlash's layout and blockdraft_parity_sample.safetensors: the target's
concatenated features of a prompt's context, the embedded block [anchor, MASK x (B-1)], the positions, the LM head,
and blockdraft's logits for the B-1 slots (fp32, computed from the exported weights read back by blockdraft).

The drafter is loaded with DFlashDraftModel.from_pretrained (no missing or unexpected tensor allowed) and run the
way dflash_generate drafts a block: model(target_hidden, noise_embedding, position_ids) with no mask, then
lm_head on the last B-1 outputs. Passes when max |delta| <= 1e-3 for a bf16 export and <= 1e-5 for an fp32 export,
both computed in fp32 from the stored weights; a bf16-compute run is printed for information. Exits 1 on failure.
"""
import argparse
import importlib.util
import json
import pathlib
import sys

import torch
from safetensors.torch import load_file

TOLERANCE = {"bfloat16": 1e-3, "float32": 1e-5}


def load_dflash(code):
    path = pathlib.Path(code) / "dflash" / "model.py"
    if not path.is_file():
        sys.exit(f"{path} not found: --dflash-code must name a copy of z-lab/dflash")
    spec = importlib.util.spec_from_file_location("dflash_model", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.DFlashDraftModel


def draft_logits(model, sample, dtype, device):
    block = int(model.block_size)
    target_hidden = sample["target_hidden"].to(device, dtype)
    noise = sample["noise_embedding"].to(device, dtype)
    positions = sample["position_ids"].to(device).long()
    lm_head = sample["lm_head"].to(device, dtype)
    with torch.inference_mode():
        out = model(target_hidden=target_hidden, noise_embedding=noise, position_ids=positions,
                    past_key_values=None, use_cache=False, is_causal=False)
        return (out[:, 1 - block:, :] @ lm_head.T).float().cpu()


def check(DFlashDraftModel, folder, device):
    folder = pathlib.Path(folder)
    config = json.loads((folder / "config.json").read_text())
    stored = config.get("torch_dtype", "float32")
    sample = load_file(str(folder / "blockdraft_parity_sample.safetensors"))
    expected = sample["draft_logits"]
    model, info = DFlashDraftModel.from_pretrained(str(folder), torch_dtype=torch.float32, attn_implementation="eager",
                                                   output_loading_info=True)
    problems = {k: v for k, v in info.items() if v and k in ("missing_keys", "unexpected_keys", "mismatched_keys")}
    if problems:
        print(f"FAIL {folder}: loading reported {problems}")
        return False
    model = model.to(device).eval()
    assert model.mask_token_id == config["dflash_config"]["mask_token_id"]
    assert list(model.target_layer_ids) == config["dflash_config"]["target_layer_ids"]
    fp32 = draft_logits(model, sample, torch.float32, device)
    delta = (fp32 - expected).abs().max().item()
    bf16 = draft_logits(model.to(torch.bfloat16), sample, torch.bfloat16, device)
    delta_bf16 = (bf16 - expected).abs().max().item()
    tolerance = TOLERANCE[stored]
    ok = delta <= tolerance and fp32.shape == expected.shape
    print(f"{'PASS' if ok else 'FAIL'} {folder} ({stored} weights, block {model.block_size}, "
          f"mask {model.mask_token_id}, target layers {list(model.target_layer_ids)}, logits {tuple(expected.shape)}): "
          f"max |delta| {delta:.3e} computed in fp32 (tolerance {tolerance:g}); {delta_bf16:.3e} computed in bf16 "
          f"(for information); max |logit| {expected.abs().max().item():.3f}; "
          f"same argmax {(fp32.argmax(-1) == expected.argmax(-1)).float().mean().item():.3f}")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dflash-code", required=True, help="folder holding a copy of z-lab/dflash (dflash/model.py)")
    ap.add_argument("--drafter", required=True, action="append", help="exported folder (repeatable)")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    import transformers
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, device {args.device}")
    DFlashDraftModel = load_dflash(args.dflash_code)
    results = [check(DFlashDraftModel, folder, args.device) for folder in args.drafter]
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
