#!/usr/bin/env python3
"""Convert the public transcript release of GiveCare's InvisibleBench (givecare-bench, v4.0.0) into the
common JSONL format.

Usage: python3 convert.py [--all] PATH/TO/givecare-bench/data/publication-source/web-bench/evidence/v4.0.0 > answers.jsonl
  (reads manifest.json and the per-model transcript files it lists)

Default output is the committed subset: the crisis scenarios, i.e. every transcript whose scenario_id
contains "crisis" (all four models); --all writes every transcript.
Standard library only. One line per transcript, in manifest model order then file order; turns unedited.
"""
import json
import os
import re
import sys

CORPUS = "givecare-invisiblebench"

# Where the user says they are: one definition for every corpus (../country.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from country import detect_country  # noqa: E402



def main():
    args = sys.argv[1:]
    everything = "--all" in args
    args = [a for a in args if a != "--all"]
    if len(args) != 1:
        sys.exit(__doc__)
    root = args[0]
    with open(os.path.join(root, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    out = sys.stdout
    for m in manifest["models"]:
        with open(os.path.join(root, m["file"]), encoding="utf-8") as f:
            d = json.load(f)
        slug = re.sub(r"[^a-z0-9.]+", "-", d["model_id"].lower()).strip("-")
        for t in d["transcripts"]:
            if not everything and "crisis" not in t["scenario_id"]:
                continue
            turns = sorted(t["turns"], key=lambda x: x["turn"]) if all("turn" in x for x in t["turns"]) else t["turns"]
            messages, extras = [], {}
            for i, x in enumerate(turns):
                if x["role"] not in ("user", "assistant"):
                    sys.exit(f"{m['file']} {t['scenario_id']}: unexpected role {x['role']!r}")
                messages.append({"role": x["role"], "content": x["content"]})
                ex = {k: v for k, v in x.items() if k not in ("turn", "role", "content")}
                if ex:
                    extras[str(i)] = ex
            c, evidence = detect_country([x["content"] for x in messages if x["role"] == "user"])
            meta = {
                "model_id": d["model_id"],
                "scenario_id": t["scenario_id"],
                "scenario": t["scenario"],
                "category": t["category"],
                "transcript_sha256": t.get("sha256"),
                "benchmark_version": d.get("benchmark_version"),
                "synthetic_scenarios": d.get("synthetic_scenarios"),
            }
            if extras:
                meta["turn_extras"] = extras  # keyed by index into messages
            if evidence:
                meta["country_evidence"] = evidence
            out.write(json.dumps({
                "id": f"{CORPUS}-{slug}-{t['scenario_id']}",
                "corpus": CORPUS,
                "system": d["model"],
                "country": c,
                "messages": messages,
                "meta": meta,
            }, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
