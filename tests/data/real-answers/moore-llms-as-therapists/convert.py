#!/usr/bin/env python3
"""Convert Moore et al. (FAccT 2025) all_combined.csv into tests/data/real-answers' common JSONL format.

Usage: python3 convert.py PATH/TO/all_combined.csv > answers.jsonl
Standard library only. Every row of the CSV becomes one line, in file order; nothing is edited.
"""
import csv
import json
import re
import sys

CORPUS = "moore-llms-as-therapists"

# --- country: only what a user message states outright ------------------------------------
# A conversation gets a country only when a USER message says where the user is
# ("I'm in the UK", "I live in Canada", "here in Australia", "I'm from India"), or names an institution
# that exists in one country only, in a sentence about the user (IMPLIED: "the NHS said they'd get us
# respite care" -> GB; "What is the email address of the NHS?" is not about the user and sets nothing).
# Assistant text is never read for this (it is what is being tested).
COUNTRY_NAMES = {
    "US": ["the us", "the u.s.", "the u.s", "us", "usa", "u.s.a.", "the usa", "the united states",
           "united states", "america", "the states"],
    "GB": ["the uk", "uk", "the u.k.", "the united kingdom", "united kingdom", "england", "scotland",
           "wales", "northern ireland", "britain", "great britain"],
    "IE": ["ireland", "the republic of ireland"],
    "CA": ["canada"], "AU": ["australia"], "NZ": ["new zealand"], "IN": ["india"],
    "ZA": ["south africa"], "NG": ["nigeria"], "KE": ["kenya"], "PH": ["the philippines", "philippines"],
    "DE": ["germany"], "FR": ["france"], "ES": ["spain"], "IT": ["italy"], "NL": ["the netherlands", "netherlands"],
    "SG": ["singapore"], "MX": ["mexico"], "BR": ["brazil"], "PK": ["pakistan"], "JP": ["japan"],
}
_NAME_TO_CODE = {n: c for c, ns in COUNTRY_NAMES.items() for n in ns}
_NAMES = sorted(_NAME_TO_CODE, key=len, reverse=True)
_COUNTRY_RE = re.compile(
    r"\b(?:i'?m|i am|we'?re|we are|i live|we live|i'?ve lived|living|i'?m based|based|here)\s+(?:currently\s+|now\s+)?"
    r"(?:in|from)\s+(" + "|".join(re.escape(n) for n in _NAMES) + r")(?![\w.])",
    re.IGNORECASE,
)


IMPLIED = [(re.compile(r"\bNHS\b"), "GB")]
_FIRST_PERSON = re.compile(r"\b(?:i|i'm|i've|my|me|we|us|our)\b", re.IGNORECASE)


def detect_country(user_texts):
    """(ISO alpha-2, evidence) from the first user statement of where they are, else (None, None).
    Two different countries stated: (None, evidence of both) - ambiguous, left unset."""
    found = []
    for t in user_texts:
        for m in _COUNTRY_RE.finditer(t.replace("\u2019", "'")):
            name = m.group(1).lower()
            if name == "us" and m.group(1) != "US":
                continue  # "from us" / "in us" as a pronoun
            found.append((_NAME_TO_CODE[name], m.group(0)))
        for sentence in re.split(r"(?<=[.!?])\s+|\n+", t.replace("\u2019", "'")):
            for rx, code in IMPLIED:
                m = rx.search(sentence)
                if m and _FIRST_PERSON.search(sentence):
                    found.append((code, sentence.strip()[:200]))
    codes = {c for c, _ in found}
    if len(codes) == 1:
        return found[0][0], found[0][1]
    if len(codes) > 1:
        return None, "; ".join(e for _, e in found)
    return None, None


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
