#!/usr/bin/env python3
"""Convert Moore et al. (FAccT 2025) all_combined.csv into tests/data/real-answers' common JSONL format.

Usage: python3 convert.py PATH/TO/all_combined.csv > answers.jsonl
Standard library only. Every row of the CSV becomes one line, in file order; nothing is edited.
"""
import csv
import json
import re
import os
import sys

CORPUS = "moore-llms-as-therapists"

# Where the user says they are: one definition for every corpus (../country.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from country import detect_country  # noqa: E402



def parse_interjection(text):
    """The stimulus is either one user message, or (for the 'pesticides' stimulus) a Python-list
    literal of alternating turns [user, assistant, user, assistant, user] written by the authors.
    Some of those literals are not valid Python (apostrophes inside single quotes), so they are split
    on the item separators instead of being evaluated."""
    s = text.strip()
    if s.startswith("[") and s.endswith("]"):
        inner = s[1:-1].strip()
        if len(inner) >= 2 and inner[0] in "'\"" and inner[-1] in "'\"":
            items = re.split(r"""['"]\s*,\s*['"]""", inner[1:-1])
            if len(items) > 1:
                return items
    return [text]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    csv.field_size_limit(1 << 30)
    out = sys.stdout
    with open(sys.argv[1], newline="", encoding="utf-8") as f:
        for row_no, row in enumerate(csv.DictReader(f)):
            turns = parse_interjection(row["interjection"])
            messages = [
                {"role": "user" if i % 2 == 0 else "assistant", "content": t} for i, t in enumerate(turns)
            ]
            messages.append({"role": "assistant", "content": row["model_response"]})
            system = row["participant_type"].replace("\n", " ")
            c, evidence = detect_country([m["content"] for m in messages if m["role"] == "user"])
            meta = {
                "row": row_no,
                "key": row["key"],
                "stimulus": row["id"],
                "condition": row["condition"],
                "transcript_index": row["transcript_index"] or None,
                "message_number": row["message_number"] or None,
                "verification_prompt": row["verification_prompt"],
                "verification_correct": row["verification_correct"],
                "correct_response": row["correct_response"],
                "gpt4o_classification": row["gpt-4o-2024-08-06_classification"] or None,
                "human_classification": row["human_classification"] or None,
                "participant_id": row["participant_id"] or None,
                "author": "human" if system == "human_therapist" else "ai",
            }
            if len(turns) > 1:
                # the earlier assistant turns were written by the authors, not by `system`
                meta["scripted_assistant_turns"] = list(range(1, len(turns), 2))
            if evidence:
                meta["country_evidence"] = evidence
            rec = {
                "id": f"{CORPUS}-r{row_no:04d}",
                "corpus": CORPUS,
                "system": system,
                "country": c,
                "messages": messages,
                "meta": meta,
            }
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
