"""Writes a 1B-shape llama GGUF with random weights, for benches/vs-llamacpp (issue 27).

Shape: Llama-3.2-1B's (16 layers, width 2048, 32 query heads over 8 key/value heads of 64,
feed-forward 8192, vocabulary 128,256, output tied to the embeddings, rope base 500,000), without
its rope scaling (a plain llama: both engines run it as such). Weights are drawn from a seeded
normal distribution (std 0.02, norms 1) and written as F16, so `llama-quantize` makes the
Q4_K_M that both engines then read; the numbers are meaningless, the work per token is that of
a real 1B model. The tokenizer and chat template are SmolLM2's (read from --tokenizer-from),
its vocabulary padded with unused tokens `<|pad_N|>` to 128,256 entries.

  python benches/llama1b.py --tokenizer-from models/SmolLM2-135M-Instruct.Q4_1.gguf --out F16.gguf

Needs the `gguf` package from PyPI (and numpy, which it brings).
"""
import argparse
import os
import sys

import numpy as np
from gguf import GGMLQuantizationType, GGUFReader, GGUFValueType, GGUFWriter

LAYERS, EMBD, FF, HEADS, KV_HEADS, VOCAB = 16, 2048, 8192, 32, 8, 128256
HEAD_DIM = EMBD // HEADS


def tokenizer_fields(path):
    """SmolLM2's tokenizer, padded to VOCAB tokens."""
    r = GGUFReader(path)
    f = r.fields

    def one(key):
        return f[key].contents()

    tokens = list(one("tokenizer.ggml.tokens"))
    types = list(one("tokenizer.ggml.token_type"))
    if len(tokens) > VOCAB:
        sys.exit(f"{path}: {len(tokens)} tokens, more than {VOCAB}")
    n = len(tokens)
    tokens += [f"<|pad_{i}|>" for i in range(VOCAB - n)]
    types += [1] * (VOCAB - n)
    return {
        "pre": one("tokenizer.ggml.pre"),
        "tokens": tokens,
        "types": types,
        "merges": list(one("tokenizer.ggml.merges")),
        "bos": one("tokenizer.ggml.bos_token_id"),
        "eos": one("tokenizer.ggml.eos_token_id"),
        "template": one("tokenizer.chat_template"),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer-from", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=27)
    a = ap.parse_args()
    tok = tokenizer_fields(a.tokenizer_from)
    partial = a.out + ".partial"
    w = GGUFWriter(partial, "llama")
    w.add_name("popbench random llama 1B shape (Llama-3.2-1B dimensions)")
    w.add_block_count(LAYERS)
    w.add_context_length(8192)
    w.add_embedding_length(EMBD)
    w.add_feed_forward_length(FF)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV_HEADS)
    w.add_key_length(HEAD_DIM)
    w.add_value_length(HEAD_DIM)
    w.add_rope_dimension_count(HEAD_DIM)
    w.add_rope_freq_base(500000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(VOCAB)
    w.add_file_type(1)  # mostly F16
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(tok["pre"])
    w.add_token_list(tok["tokens"])
    w.add_token_types(tok["types"])
    w.add_token_merges(tok["merges"])
    w.add_bos_token_id(tok["bos"])
    w.add_eos_token_id(tok["eos"])
    w.add_add_bos_token(False)
    w.add_chat_template(tok["template"])

    # (name, numpy shape = rows × cols, f16?) in the order they are written.
    tensors = [("token_embd.weight", (VOCAB, EMBD), True)]
    for i in range(LAYERS):
        b = f"blk.{i}."
        tensors += [
            (b + "attn_norm.weight", (EMBD,), False),
            (b + "attn_q.weight", (EMBD, EMBD), True),
            (b + "attn_k.weight", (KV_HEADS * HEAD_DIM, EMBD), True),
            (b + "attn_v.weight", (KV_HEADS * HEAD_DIM, EMBD), True),
            (b + "attn_output.weight", (EMBD, EMBD), True),
            (b + "ffn_norm.weight", (EMBD,), False),
            (b + "ffn_gate.weight", (FF, EMBD), True),
            (b + "ffn_up.weight", (FF, EMBD), True),
            (b + "ffn_down.weight", (EMBD, FF), True),
        ]
    tensors.append(("output_norm.weight", (EMBD,), False))
    for name, shape, half in tensors:
        dt = np.float16 if half else np.float32
        nbytes = int(np.prod(shape)) * np.dtype(dt).itemsize
        w.add_tensor_info(name, shape, np.dtype(dt), nbytes)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    rng = np.random.default_rng(a.seed)
    for name, shape, half in tensors:
        if half:
            x = (rng.standard_normal(shape, dtype=np.float32) * 0.02).astype(np.float16)
        else:
            x = np.ones(shape, dtype=np.float32)
        w.write_tensor_data(x)
    w.close()
    os.replace(partial, a.out)
    print(f"wrote {a.out}: {LAYERS} layers, width {EMBD}, ff {FF}, vocab {VOCAB}")


if __name__ == "__main__":
    main()
