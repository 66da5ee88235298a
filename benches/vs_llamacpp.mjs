// llama.cpp half of benches/vs-llamacpp through node-llama-cpp (prebuilt llama.cpp, which loads
// the CPU-specific variant of its ggml CPU backend that suits this CPU best, e.g. zen4 or
// sapphirerapids). Same work as benches/gen.rs and benches/vs_llamacpp.py: fixed token ids,
// teacher-forced steps (each step asks for a next token, so logits are computed as in
// popbench), best of --reps. Prints `variant NAME` (the libggml-cpu-NAME.so this process
// mapped), then `pp128 X`, `tg128 Y`, `batch8 Z` (tok/s).
// batch8: 8 sequences of one context evaluated concurrently (node-llama-cpp batches their
// pending tokens into one llama_decode per step).
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const modelPath = arg("--model");
const threads = Number(arg("--threads", "2"));
const reps = Number(arg("--reps", "3"));
const only = arg("--only", "pp128,tg128,batch8").split(",");
const tokenIds = (seed, n) =>
  Array.from({ length: n }, (_, i) => 100 + ((seed * 7919 + i * 104729) % 20000));
const next = { generateNext: { token: true } };

const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
const context = await model.createContext({ contextSize: 1024, sequences: 8, threads, batchSize: 512 });
const seqs = Array.from({ length: 8 }, () => context.getSequence());

// Which CPU variant ggml loaded: the libggml-cpu-*.so mapped into this process.
import { readFileSync } from "node:fs";
const maps = readFileSync("/proc/self/maps", "utf8");
const variants = [...new Set([...maps.matchAll(/libggml-cpu-([A-Za-z0-9_]+)\.so/g)].map((m) => m[1]))];
console.log(`variant ${variants.length ? variants.join("+") : "unknown"}`);

async function run(seq, ids, prompt, steps) {
  const p = ids.slice(0, prompt).map((t, i) => (i === prompt - 1 ? [t, next] : t));
  await seq.controlledEvaluate(p);
  for (let k = 0; k < steps; k++) await seq.controlledEvaluate([[ids[prompt + k], next]]);
}

await run(seqs[0], tokenIds(9, 8), 8, 0);
for (const what of only) {
  let best = 0;
  for (let r = 0; r < reps; r++) {
    for (const s of seqs) await s.clearHistory();
    const t = performance.now();
    let n;
    if (what === "pp128") { await run(seqs[0], tokenIds(1, 128), 128, 0); n = 128; }
    else if (what === "tg128") { await run(seqs[0], tokenIds(0, 130), 1, 128); n = 128; }
    else if (what === "batch8") {
      await Promise.all(seqs.map((s, i) => run(s, tokenIds(10 + i, 49), 16, 32)));
      n = 8 * 32;
    } else throw new Error(`unknown figure ${what}`);
    best = Math.max(best, n / ((performance.now() - t) / 1000));
  }
  console.log(`${what} ${best.toFixed(2)}`);
}
await context.dispose();
await model.dispose();
