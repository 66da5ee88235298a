#!/usr/bin/env python3
"""Summarises the GPU check's steps (see `run`) as one JSON document, and prints a table.

Reads WORK/steps.jsonl (one line per step, written by `run`), each run's directory
(manifest.json, responses.jsonl), WORK/gpu.csv (nvidia-smi) and WORK/mem-NAME.txt (memory
samples), and writes OUT_JSON whole (a temporary file renamed over it), so a check stopped
half-way still leaves the figures of the steps it finished.

Figures:
  tokens          generated tokens: every answer's completion_tokens (live conversations: every
                  turn's), failed items counting none
  run_s           the run's own window: manifest started_at to finished_at (the model already
                  loaded; generation and journaling)
  tokens_per_s    tokens / run_s (the figure the goals are checked on)
  wall_s          the popbench process, start to exit (CUDA start-up and model load included)
  peak_gpu_mib    the highest `memory.used` nvidia-smi reported while the step ran (sampled
                  every 200 ms), and the reading before it started
  compare         greedy answers of the device against the CPU on the same items: equal, or
                  where the first difference is
  same_answers_as_batch_32
                  the 135M model's core runs at other batch sizes against batch 32's, on the
                  items both answered: whether answers depend on the batch

Usage: summarize.py WORK OUT_JSON [--final]
"""

import datetime
import json
import os
import sys

GOALS = [
    # (what, run name, least tokens/s)
    ("SmolLM2-135M shape, core suite, batch 32: generated tokens/s", "135m-core-b32", 2000.0),
    ("Llama-3.2-1B shape, core suite, batch 32: generated tokens/s", "1b-core-b32", 1000.0),
]

NOTE = (
    "The models have RANDOM weights (scripts/gpu/gen_weights.py) at the real shapes, with the "
    "real SmolLM2 tokenizer and chat template: the figures measure speed and whether the device "
    "computes what the CPU computes; the answers themselves mean nothing."
)


def read_jsonl(path):
    out = []
    if not os.path.isfile(path):
        return out
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                pass  # a torn last line of a run that was stopped
    return out


def when(s):
    """RFC 3339 with nanoseconds (popbench's manifests) -> seconds since the epoch."""
    if not s:
        return None
    s = s.replace("Z", "+00:00")
    head, _, tail = s.partition(".")
    if tail:
        digits = "".join(c for c in tail if c.isdigit())
        zone = tail[len(digits):]
        s = f"{head}.{digits[:6]}{zone}"
    try:
        return datetime.datetime.fromisoformat(s).timestamp()
    except ValueError:
        return None


def answers(run_dir):
    """{(scenario_id, context, sample): response} and the token count of one run."""
    by_key, tokens, failures, items = {}, 0, 0, 0
    for r in read_jsonl(os.path.join(run_dir, "responses.jsonl")):
        items += 1
        if r.get("error"):
            failures += 1
            continue
        tokens += r.get("completion_tokens", 0)
        tokens += sum(t.get("completion_tokens", 0) for t in r.get("turns", []))
        by_key[(r["scenario_id"], r["context"], r["sample"])] = r.get("response", "")
    return by_key, tokens, failures, items


def memory(work, name):
    path = os.path.join(work, f"mem-{name}.txt")
    if not os.path.isfile(path):
        return None, None
    values = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                values.append(float(line.strip().split(",")[0]))
            except ValueError:
                pass
    if not values:
        return None, None
    return max(values), values[0]


def run_figures(work, step):
    d = step["dir"]
    fig = {k: step.get(k) for k in ("name", "model", "suite", "batch", "device", "dtype", "limit", "rc")}
    if step.get("skipped"):
        fig["skipped"] = step["skipped"]
        return fig, {}
    by_key, tokens, failures, items = answers(d)
    manifest = {}
    mpath = os.path.join(d, "manifest.json")
    if os.path.isfile(mpath):
        with open(mpath, encoding="utf-8") as f:
            manifest = json.load(f)
    model = manifest.get("model", {})
    start, end = when(manifest.get("started_at")), when(manifest.get("finished_at"))
    run_s = end - start if start and end and end > start else None
    wall_s = step["t1"] - step["t0"]
    peak, before = memory(work, step["name"])
    fig.update(
        items=items,
        failures=failures,
        tokens=tokens,
        run_s=round(run_s, 3) if run_s else None,
        tokens_per_s=round(tokens / run_s, 1) if run_s else None,
        wall_s=round(wall_s, 3),
        tokens_per_s_wall=round(tokens / wall_s, 1) if wall_s > 0 else None,
        peak_gpu_mib=peak,
        gpu_mib_before=before,
        engine=model.get("engine"),
        model_dtype=model.get("dtype"),
        git_commit=manifest.get("harness", {}).get("git_commit"),
    )
    return fig, by_key


def compare(device, cpu):
    keys = [k for k in cpu if k in device]
    differing = []
    for k in keys:
        a, b = device[k], cpu[k]
        if a == b:
            continue
        n = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
        differing.append(
            {"item": "/".join(map(str, k)), "first_difference_at_char": n, "device_chars": len(a), "cpu_chars": len(b)}
        )
    return {"items": len(keys), "equal": len(keys) - len(differing), "differing": differing}


def gpu_info(work):
    path = os.path.join(work, "gpu.csv")
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        rows = [[c.strip() for c in line.split(",")] for line in f if line.strip()]
    keys = ["name", "memory_total_mib", "driver", "compute_cap"]
    return [dict(zip(keys, r)) for r in rows] or None


def main():
    args = [a for a in sys.argv[1:] if a != "--final"]
    final = "--final" in sys.argv[1:]
    if len(args) != 2:
        sys.exit("usage: summarize.py WORK OUT_JSON [--final]")
    work, out_json = args
    header = {}
    hpath = os.path.join(work, "header.json")
    if os.path.isfile(hpath):
        with open(hpath, encoding="utf-8") as f:
            header = json.load(f)
    steps = read_jsonl(os.path.join(work, "steps.jsonl"))
    runs, by_name, models = [], {}, []
    for s in steps:
        if s.get("kind") == "weights":
            models.append({k: s.get(k) for k in ("shape", "rc", "seconds", "line")})
            continue
        fig, by_key = run_figures(work, s)
        runs.append(fig)
        by_name[s["name"]] = by_key

    comparison = None
    if "compare-device" in by_name and "compare-cpu" in by_name:
        comparison = compare(by_name["compare-device"], by_name["compare-cpu"])
        comparison["device_dtype"] = next((r.get("dtype") for r in runs if r["name"] == "compare-device"), None)
        # The speed run's answers (the device's default dtype) on the same items, for information:
        # bf16 differs from f32 in the last bits, and greedy answers part where two tokens were close.
        if "135m-core-b32" in by_name:
            cpu = by_name["compare-cpu"]
            speed = {k: v for k, v in by_name["135m-core-b32"].items() if k in cpu}
            comparison["default_dtype_run"] = compare(speed, cpu)

    # Whether answers depend on the batch: each core run of the 135M model at the device's
    # default dtype against the batch-32 run, on the items both answered.
    batches = None
    if "135m-core-b32" in by_name:
        ref = by_name["135m-core-b32"]
        batches = {
            name: compare(answers_of, ref)
            for name, answers_of in by_name.items()
            if name.startswith("135m-core-b") and name != "135m-core-b32"
        }
        for c in batches.values():
            del c["differing"]

    goals = []
    rehearsal = header.get("device") != "cuda"
    for what, name, least in GOALS:
        r = next((r for r in runs if r["name"] == name), None)
        value = r.get("tokens_per_s") if r else None
        goals.append(
            {
                "what": what,
                "at_least": least,
                "value": value,
                "met": None if rehearsal or value is None else value >= least,
            }
        )
    if comparison is not None:
        ok = comparison["items"] > 0 and comparison["equal"] == comparison["items"]
        goals.append({"what": "greedy answers of the device equal the CPU's", "value": f"{comparison['equal']}/{comparison['items']}", "met": ok})

    incomplete = [r["name"] for r in runs if r.get("skipped") or r.get("rc") not in (0, None)]
    doc = {
        "schema": "popbench-gpu-run/1",
        "status": ("complete" if not incomplete else "incomplete") if final else "running",
        "incomplete_steps": incomplete,
        "note": NOTE,
        **header,
        "gpu": gpu_info(work),
        "models": models,
        "runs": runs,
        "compare": comparison,
        "same_answers_as_batch_32": batches,
        "goals": goals,
    }
    tmp = out_json + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    os.replace(tmp, out_json)

    if final:
        print(f"{'run':<18} {'items':>5} {'tokens':>7} {'run s':>7} {'tok/s':>8} {'wall s':>7} {'peak MiB':>8}  engine")
        for r in runs:
            if r.get("skipped"):
                print(f"{r['name']:<18} skipped: {r['skipped']}")
                continue
            cell = lambda v, f: format(v, f) if isinstance(v, (int, float)) else "-"
            print(
                f"{r['name']:<18} {cell(r.get('items'), '5d')} {cell(r.get('tokens'), '7d')} "
                f"{cell(r.get('run_s'), '7.1f')} {cell(r.get('tokens_per_s'), '8.0f')} "
                f"{cell(r.get('wall_s'), '7.1f')} {cell(r.get('peak_gpu_mib'), '8.0f')}  {r.get('engine') or ''}"
                + (f"  (exit {r['rc']})" if r.get("rc") not in (0, None) else "")
            )
        if comparison is not None:
            print(
                f"compare: {comparison['equal']}/{comparison['items']} greedy answers of the device "
                f"({comparison['device_dtype']}) equal to the CPU's"
            )
            for d in comparison["differing"]:
                print(f"  {d['item']}: first difference at character {d['first_difference_at_char']}")
            if "default_dtype_run" in comparison:
                c = comparison["default_dtype_run"]
                print(f"         {c['equal']}/{c['items']} of the batch-32 speed run's (device default dtype)")
        for name, c in (batches or {}).items():
            print(f"{name}: {c['equal']}/{c['items']} answers equal to batch 32's")
        for g in goals:
            met = {True: "met", False: "NOT met", None: "not judged (no GPU)"}[g["met"]]
            print(f"goal: {g['what']}: {g['value']} ({met})")
        print(NOTE)


if __name__ == "__main__":
    main()
