"""llama.cpp half of benches/vs-llamacpp, through llama-cpp-python's low-level API.

Same work as benches/gen.rs: fixed token ids (token_ids below), teacher-forced steps, best of
--reps runs. Prints `pp128 X`, `tg128 Y`, `batch8 Z` in tokens per second.
  pp128:  one decode of a 128-token prompt;
  tg128:  a 1-token prompt, then 128 single-token decodes;
  batch8: 8 sequences in one context; one decode of the 8 x 16 prompt tokens, then 32 decodes
          of 8 tokens (one per sequence); figure = 8 * 32 / whole time.
"""
import argparse
import ctypes
import sys
import time

import llama_cpp as L


def token_ids(seed, n):
    return [100 + (seed * 7919 + i * 104729) % 20000 for i in range(n)]


def clear(ctx):
    if hasattr(L, "llama_memory_clear"):
        L.llama_memory_clear(L.llama_get_memory(ctx), True)
    elif hasattr(L, "llama_kv_self_clear"):
        L.llama_kv_self_clear(ctx)
    else:
        L.llama_kv_cache_clear(ctx)


def decode(ctx, batch, items):
    """items: list of (token, pos, seq, want_logits)."""
    batch.n_tokens = len(items)
    for i, (t, p, s, lg) in enumerate(items):
        batch.token[i] = t
        batch.pos[i] = p
        batch.n_seq_id[i] = 1
        batch.seq_id[i][0] = s
        batch.logits[i] = 1 if lg else 0
    rc = L.llama_decode(ctx, batch)
    if rc != 0:
        sys.exit(f"llama_decode failed: {rc}")
    # Read the last logits like popbench does (it copies them out each step).
    L.llama_get_logits_ith(ctx, len(items) - 1)[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--only", default="pp128,tg128,batch8")
    a = ap.parse_args()
    L.llama_backend_init()
    quiet = L.llama_log_callback(lambda level, text, data: None)
    L.llama_log_set(quiet, ctypes.c_void_p(0))
    mp = L.llama_model_default_params()
    model = L.llama_load_model_from_file(a.model.encode(), mp)
    cp = L.llama_context_default_params()
    cp.n_ctx = 1024
    cp.n_batch = 512
    cp.n_ubatch = 512
    cp.n_seq_max = 8
    cp.n_threads = a.threads
    cp.n_threads_batch = a.threads
    ctx = L.llama_new_context_with_model(model, cp)
    batch = L.llama_batch_init(512, 0, 8)
    clear(ctx)
    decode(ctx, batch, [(t, i, 0, i == 7) for i, t in enumerate(token_ids(9, 8))])
    for what in a.only.split(","):
        best = 0.0
        for _ in range(a.reps):
            clear(ctx)
            if what == "pp128":
                ids = token_ids(1, 128)
                t = time.perf_counter()
                decode(ctx, batch, [(x, i, 0, i == 127) for i, x in enumerate(ids)])
                v = 128 / (time.perf_counter() - t)
            elif what == "tg128":
                ids = token_ids(0, 1 + 128 + 1)
                t = time.perf_counter()
                decode(ctx, batch, [(ids[0], 0, 0, True)])
                for i in range(128):
                    decode(ctx, batch, [(ids[1 + i], 1 + i, 0, True)])
                v = 128 / (time.perf_counter() - t)
            elif what == "batch8":
                seqs = [token_ids(10 + s, 16 + 32 + 1) for s in range(8)]
                t = time.perf_counter()
                decode(ctx, batch, [(seqs[s][i], i, s, i == 15) for s in range(8) for i in range(16)])
                for k in range(32):
                    decode(ctx, batch, [(seqs[s][16 + k], 16 + k, s, True) for s in range(8)])
                v = 8 * 32 / (time.perf_counter() - t)
            else:
                sys.exit(f"unknown figure {what}")
            best = max(best, v)
        print(f"{what} {best:.2f}", flush=True)


if __name__ == "__main__":
    main()
