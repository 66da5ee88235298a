#!/usr/bin/env python3
"""Writes SmolLM2's tokenizer.json and tokenizer_config.json from the GGUF file's metadata.

Run by scripts/gpu-bundle on the build machine (needs the PyPI packages `gguf` and
`tokenizers`), so that the bundle's random-weight models carry the real SmolLM2 tokenizer and
chat template without the 98 MB GGUF file. The tokenizer is rebuilt as popbench rebuilds a GGUF
tokenizer (src/backend/candle/tokenizer.rs, `build_gpt2` with `tokenizer.ggml.pre = smollm`):
byte-level BPE from `tokenizer.ggml.tokens` and `tokenizer.ggml.merges`, every digit split
alone before GPT-2's byte-level rules, control tokens (token type 3) special, user-defined
tokens (type 4) added. tokenizer_config.json holds the GGUF's `tokenizer.chat_template` and its
BOS and EOS tokens by name, the template variables popbench sets for a GGUF model.

scripts/gpu-rehearse checks the result: the same prompts give the same prompt token counts
through this tokenizer.json as through the GGUF.

Usage: tokenizer_from_gguf.py MODEL.gguf OUT_DIR
"""

import json
import os
import sys

from gguf import GGUFReader
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

# `tokenizer.ggml.pre` values that mean StarCoder-style rules (as popbench and llama.cpp map them).
DIGITS_THEN_GPT2 = {"smollm", "starcoder", "refact", "command-r", "codeshell", "exaone"}


def field(reader, key, required=True):
    f = reader.fields.get(key)
    if f is None:
        if required:
            sys.exit(f"tokenizer_from_gguf: the GGUF metadata has no `{key}`")
        return None
    return f.contents()


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-1])
    path, out = sys.argv[1], sys.argv[2]
    reader = GGUFReader(path)
    model = field(reader, "tokenizer.ggml.model")
    pre = field(reader, "tokenizer.ggml.pre", required=False) or "default"
    if model != "gpt2" or pre not in DIGITS_THEN_GPT2:
        sys.exit(
            f"tokenizer_from_gguf: {path}: tokenizer model `{model}`, pre `{pre}`; "
            "this script rebuilds SmolLM2's (gpt2, smollm)"
        )
    tokens = field(reader, "tokenizer.ggml.tokens")
    types = field(reader, "tokenizer.ggml.token_type", required=False) or [1] * len(tokens)
    merges = field(reader, "tokenizer.ggml.merges")
    if len(types) != len(tokens):
        sys.exit("tokenizer_from_gguf: token_type and tokens differ in length")
    pairs = []
    for m in merges:
        a, sep, b = m.partition(" ")
        if not sep:
            sys.exit(f"tokenizer_from_gguf: bad merge `{m}`")
        pairs.append((a, b))

    tok = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=pairs))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    special = [AddedToken(t, special=True, normalized=False) for t, ty in zip(tokens, types) if ty == 3]
    user = [AddedToken(t, special=False, normalized=False) for t, ty in zip(tokens, types) if ty == 4]
    tok.add_special_tokens(special)
    tok.add_tokens(user)

    template = field(reader, "tokenizer.chat_template")
    config = {"chat_template": template}
    for name, key in [("bos_token", "tokenizer.ggml.bos_token_id"), ("eos_token", "tokenizer.ggml.eos_token_id")]:
        i = field(reader, key, required=False)
        if i is not None:
            config[name] = tokens[int(i)]

    os.makedirs(out, exist_ok=True)
    tok.save(os.path.join(out, "tokenizer.json"))
    with open(os.path.join(out, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(
        f"tokenizer_from_gguf: {len(tokens)} tokens, {len(pairs)} merges, {len(special)} special "
        f"and {len(user)} user-defined tokens, pre={pre}; template {len(template)} characters"
    )


if __name__ == "__main__":
    main()
