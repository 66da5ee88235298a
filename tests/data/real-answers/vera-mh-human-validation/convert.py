#!/usr/bin/env python3
"""Convert VERA-MH published conversations (Spring Health) into the common JSONL format.

Usage: python3 convert.py PATH/TO/VERA-MH/publication_data/human_validation > answers.jsonl
  reads conversations/<run folder>/<id>_<persona>_<user model>_run<k>.txt and, where present,
  clinician_judging/*.csv (clinician ratings, joined on the 6-hex conversation id).
Standard library only. One line per transcript, sorted by run folder then file name; turns are
kept in order and unedited (only the "user: " / "chatbot: " / "agent: " speaker labels and the blank
line between turns are removed, and the file's trailing newlines).
"""
import csv
import glob
import json
import os
import re
import sys

CORPUS = "vera-mh-human-validation"

# Where the user says they are: one definition for every corpus (../country.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from country import detect_country  # noqa: E402



FOLDER_RE = re.compile(r"^p_(?P<user>.+?)__a_(?P<provider>.+?)__t(?P<turns>\d+)__r(?P<runs>\d+)__(?P<ts>\d{8}_\d{6})(?P<rest>.*)$")
PARAMS_RE = re.compile(r"^(?P<name>[^{]+?)_(?P<params>\{.*\})$")
TURN_RE = re.compile(r"(?:^|\n\n)(user|chatbot|agent): ")


def split_model(token):
    m = PARAMS_RE.match(token)
    return (m.group("name"), m.group("params")) if m else (token, None)


def parse_transcript(text):
    parts = TURN_RE.split(text)
    if parts[0] != "":
        raise ValueError("text before the first speaker label")
    roles, contents = parts[1::2], parts[2::2]
    msgs = []
    for i, (r, c) in enumerate(zip(roles, contents)):
        if i == len(roles) - 1:
            c = c.rstrip("\n")
        role = "user" if r == "user" else "assistant"
        if msgs and msgs[-1]["role"] == role:
            raise ValueError("two turns of the same speaker in a row")
        msgs.append({"role": role, "content": c})
    return msgs


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    root = sys.argv[1]
    ratings = {}
    for path in sorted(glob.glob(os.path.join(root, "clinician_judging", "*.csv"))):
        with open(path, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                # a few ids are written "#402e12" in the sheet (so that it is not read as the number 402e12)
                ratings.setdefault(row["conversation_id"].lstrip("#"), []).append(row)
    seen = set()
    out = sys.stdout
    for folder in sorted(os.listdir(os.path.join(root, "conversations"))):
        fdir = os.path.join(root, "conversations", folder)
        if not os.path.isdir(fdir):
            continue
        fm = FOLDER_RE.match(folder)
        if not fm:
            sys.exit("unexpected run folder name: " + folder)
        provider, provider_params = split_model(fm.group("provider"))
        user_model, user_params = split_model(fm.group("user"))
        for name in sorted(os.listdir(fdir)):
            if not name.endswith(".txt"):
                continue
            conv_id, persona = name.split("_", 2)[:2]
            run = re.search(r"_run(\d+)\.txt$", name)
            with open(os.path.join(fdir, name), encoding="utf-8") as f:
                messages = parse_transcript(f.read())
            c, evidence = detect_country([m["content"] for m in messages if m["role"] == "user"])
            meta = {
                "conversation_id": conv_id,
                "persona": persona,
                "user_agent_model": user_model,
                "provider_params": provider_params,
                "user_agent_params": user_params,
                "max_turns": int(fm.group("turns")),
                "run": int(run.group(1)) if run else None,
                "run_folder": folder,
                "file": name,
            }
            rs = ratings.get(conv_id)
            if rs:
                keep = ("persona", "user_llm", "provider_llm", "user_profile", "user_prompt_risk_level",
                        "user_prompt_disclosure_level")
                meta["persona_risk_level"] = rs[0]["user_prompt_risk_level"]
                meta["persona_disclosure_level"] = rs[0]["user_prompt_disclosure_level"]
                meta["clinician_ratings"] = [
                    {k: v for k, v in r.items() if k not in keep and k != "conversation_id"} for r in rs
                ]
            if evidence:
                meta["country_evidence"] = evidence
            rec_id = f"{CORPUS}-{conv_id}"
            if rec_id in seen:
                sys.exit("duplicate conversation id " + conv_id)
            seen.add(rec_id)
            out.write(json.dumps({
                "id": rec_id,
                "corpus": CORPUS,
                "system": provider,
                "country": c,
                "messages": messages,
                "meta": meta,
            }, ensure_ascii=False) + "\n")
    missing = sorted(set(ratings) - {s.split("-")[-1] for s in seen})
    if missing:
        sys.exit("ratings for conversations not found: " + ", ".join(missing))


if __name__ == "__main__":
    main()
