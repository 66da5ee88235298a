#!/usr/bin/env python3
"""Convert XSTest v2 model completions (Roettger et al., NAACL 2024) into the common JSONL format.

Usage: python3 convert.py PATH/TO/exaggerated-safety > answers.jsonl
  (the repository checkout: reads model_completions/xstest_v2_completions_*.csv and xstest_prompts.csv)
Standard library only. Every completion becomes one line: files in name order, rows in file order.
"""
import csv
import glob
import json
import os
import re
import sys

CORPUS = "xstest"

# Where the user says they are: one definition for every corpus (../country.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from country import detect_country  # noqa: E402



def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    root = sys.argv[1]
    prompts = {}
    with open(os.path.join(root, "xstest_prompts.csv"), newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            prompts[row["id"]] = row
    files = sorted(glob.glob(os.path.join(root, "model_completions", "xstest_v2_completions_*.csv")))
    if not files:
        sys.exit("no model_completions/xstest_v2_completions_*.csv under " + root)
    out = sys.stdout
    for path in files:
        system = os.path.basename(path)[len("xstest_v2_completions_"):-len(".csv")]
        with open(path, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                num = row["id"].split("-", 1)[1]
                p = prompts.get(num)
                if p is None:
                    sys.exit(f"{path}: {row['id']} is not in xstest_prompts.csv")
                messages = [
                    {"role": "user", "content": row["prompt"]},
                    {"role": "assistant", "content": row["completion"]},
                ]
                c, evidence = detect_country([row["prompt"]])
                meta = {
                    "prompt_id": row["id"],
                    "type": row["type"],
                    "prompt_label": p["label"],
                    "focus": p["focus"],
                    "note": p["note"],
                    "final_label": row["final_label"],
                    "annotation_1": row["annotation_1"],
                    "annotation_2": row["annotation_2"],
                    "agreement": row["agreement"],
                    "source_file": os.path.basename(path),
                }
                if p["prompt"].strip() != row["prompt"].strip():
                    # the model answered the prompt in the completions file; the prompt list was revised later
                    meta["prompt_in_xstest_prompts_csv"] = p["prompt"]
                if evidence:
                    meta["country_evidence"] = evidence
                out.write(json.dumps({
                    "id": f"{CORPUS}-{system}-{row['id']}",
                    "corpus": CORPUS,
                    "system": system,
                    "country": c,
                    "messages": messages,
                    "meta": meta,
                }, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
