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
