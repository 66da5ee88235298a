#!/usr/bin/env python3
"""Writes a llama-architecture model with RANDOM weights as a safetensors folder for popbench
(`--model safetensors:DIR`): config.json, model.safetensors (bf16) and the SmolLM2 tokenizer
files carried in the bundle (tokenizer.json, tokenizer_config.json with the chat template).

Random weights say nothing about answers' quality: they are for speed (every matrix has its
real shape, so a step costs what a trained model's step costs; random models seldom write the
end-of-turn token, so replies run to --max-tokens) and for comparing one device's greedy
answers with another's. Nothing else should be read into them.

Shapes:
  smollm2-135m  SmolLM2-135M: the llama.* metadata of SmolLM2-135M-Instruct.Q4_1.gguf
                (block_count 30, embedding_length 576, feed_forward_length 1536, head_count 9,
                head_count_kv 3, rope.freq_base 100000, layer_norm_rms_epsilon 1e-5,
                context_length 8192, vocab 49152; no output.weight: tied embeddings);
                scripts/gpu-rehearse checks these against the GGUF file.
  llama-3.2-1b  Llama-3.2-1B: meta-llama/Llama-3.2-1B-Instruct's config.json (hidden 2048,
                intermediate 8192, 16 layers, 32 heads, 8 key/value heads, head_dim 64,
                rope_theta 500000, rms_norm_eps 1e-5, tied embeddings), with SmolLM2's 49,152-
                token vocabulary in place of Llama 3's 128,256 (the bundle carries SmolLM2's
                tokenizer), max_position_embeddings 8192 and no rope_scaling (popbench's
                batched model does not read Llama 3's frequency scaling; it changes no cost):
                1.07 B parameters instead of 1.24 B.

Needs numpy only (the safetensors file is written here, in its documented format).

Usage: gen_weights.py SHAPE TOKENIZER_DIR OUT_DIR [--seed N]
"""

import json
import os
import shutil
import struct
import sys
import time

import numpy as np

SHAPES = {
    "smollm2-135m": dict(
        hidden_size=576,
        intermediate_size=1536,
        num_hidden_layers=30,
        num_attention_heads=9,
        num_key_value_heads=3,
        rope_theta=100000.0,
        rms_norm_eps=1e-5,
        max_position_embeddings=8192,
        vocab_size=49152,
        tie_word_embeddings=True,
    ),
    "llama-3.2-1b": dict(
        hidden_size=2048,
        intermediate_size=8192,
        num_hidden_layers=16,
        num_attention_heads=32,
        num_key_value_heads=8,
        head_dim=64,
        rope_theta=500000.0,
        rms_norm_eps=1e-5,
        max_position_embeddings=8192,
        vocab_size=49152,
        tie_word_embeddings=True,
    ),
}

# The token embeddings' standard deviation (llama's usual initialiser range). Every other matrix
# has 1/sqrt(its input width), so that each layer's output is of the order of its input: with
# llama's 0.02 throughout, the layers add next to nothing to the residual stream, and the tied
# output matrix then scores the current token highest, so a reply repeats its first token and
# attention goes untested.
EMBED_STD = 0.02


def tensors(cfg):
    """(name, shape) of every weight, in the Hugging Face llama layout ([out, in] matrices)."""
    h, f, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    hd = cfg.get("head_dim", h // cfg["num_attention_heads"])
    q, kv = cfg["num_attention_heads"] * hd, cfg["num_key_value_heads"] * hd
    yield "model.embed_tokens.weight", (v, h)
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        yield p + "input_layernorm.weight", (h,)
        yield p + "self_attn.q_proj.weight", (q, h)
        yield p + "self_attn.k_proj.weight", (kv, h)
        yield p + "self_attn.v_proj.weight", (kv, h)
        yield p + "self_attn.o_proj.weight", (h, q)
        yield p + "post_attention_layernorm.weight", (h,)
        yield p + "mlp.gate_proj.weight", (f, h)
        yield p + "mlp.up_proj.weight", (f, h)
        yield p + "mlp.down_proj.weight", (h, f)
    yield "model.norm.weight", (h,)
    if not cfg["tie_word_embeddings"]:
        yield "lm_head.weight", (v, h)


def bf16(x):
    """float32 -> bfloat16 bits (round to nearest even), as uint16."""
    u = x.view(np.uint32)
    return ((u + (((u >> 16) & 1) + 0x7FFF)) >> 16).astype(np.uint16)


def write(cfg, path, seed):
    """Writes model.safetensors one tensor at a time; returns (parameters, bytes)."""
    specs = list(tensors(cfg))
    header, at = {}, 0
    for name, shape in specs:
        n = int(np.prod(shape)) * 2
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [at, at + n]}
        at += n
    header["__metadata__"] = {"format": "pt", "popbench": "random weights (scripts/gpu/gen_weights.py)"}
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    rng = np.random.default_rng(seed)
    params = 0
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for name, shape in specs:
            if len(shape) == 1:
                x = np.ones(shape, dtype=np.float32)
            else:
                x = rng.standard_normal(shape, dtype=np.float32)
                x *= EMBED_STD if name == "model.embed_tokens.weight" else shape[1] ** -0.5
            f.write(bf16(x).tobytes())
            params += x.size
    return params, 8 + len(raw) + at


def main():
    args = sys.argv[1:]
    seed = 28
    if "--seed" in args:
        i = args.index("--seed")
        if i + 1 >= len(args):
            sys.exit("gen_weights: --seed needs a number")
        try:
            seed = int(args[i + 1])
        except ValueError:
            sys.exit(f"gen_weights: --seed {args[i + 1]}: not a number")
        del args[i : i + 2]
    if len(args) != 3:
        sys.exit("usage: gen_weights.py SHAPE TOKENIZER_DIR OUT_DIR [--seed N]")
    shape, tok_dir, out = args
    if shape not in SHAPES:
        sys.exit(f"gen_weights: unknown shape `{shape}` (known: {', '.join(SHAPES)})")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        if not os.path.isfile(os.path.join(tok_dir, name)):
            sys.exit(f"gen_weights: {os.path.join(tok_dir, name)}: missing")
    t0 = time.time()
    os.makedirs(out, exist_ok=True)
    cfg = dict(SHAPES[shape])
    with open(os.path.join(tok_dir, "tokenizer_config.json"), encoding="utf-8") as f:
        tcfg = json.load(f)
    with open(os.path.join(tok_dir, "tokenizer.json"), encoding="utf-8") as f:
        vocab = {t["content"]: t["id"] for t in json.load(f).get("added_tokens", [])}
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_act": "silu",
        "torch_dtype": "bfloat16",
        **cfg,
        "bos_token_id": vocab.get(tcfg.get("bos_token")),
        "eos_token_id": vocab.get(tcfg.get("eos_token")),
        "popbench_note": f"random weights (seed {seed}), {shape} shape: for speed and device comparisons only",
    }
    with open(os.path.join(out, "config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=1)
        f.write("\n")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(os.path.join(tok_dir, name), os.path.join(out, name))
    params, size = write(cfg, os.path.join(out, "model.safetensors"), seed)
    print(
        f"gen_weights: {shape}: {params / 1e6:.1f} M random parameters (bf16, {size / 2**20:.0f} MiB) "
        f"in {time.time() - t0:.1f} s -> {out}"
    )


if __name__ == "__main__":
    main()
