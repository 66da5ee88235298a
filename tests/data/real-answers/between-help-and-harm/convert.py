#!/usr/bin/env python3
"""Convert the validation-set answers of "Between Help and Harm" (Arnaiz-Rodriguez et al., JMIR Mental
Health 2026) into the common JSONL format.

Usage: python3 convert.py [--all] PATH/TO/LLMs-Mental-Health-Crisis > answers.jsonl
  (the repository checkout: reads data/llm_answer/*-answers-sampled_dataset_n_200_merged_n50-noSeed_156-s42-*.json,
   data/processed/sampled_dataset_n_200_merged_n50-noSeed_156-s42.json and data/human_label/)

Default output is the committed subset (see SUBSET below); --all writes every answer.
Standard library only. The user message is the corpus' list of input sentences joined with "\n", which
is exactly the string the authors sent to each model (scripts/get_answer_to_conversations.py). Answers
are not edited. Items where the API returned an error object instead of an answer are skipped.
"""
import glob
import hashlib
import json
import os
import re
import sys

CORPUS = "between-help-and-harm"
VALIDATION = "sampled_dataset_n_200_merged_n50-noSeed_156-s42"

# The corpus' dataset ids -> the Hugging Face dataset each input came from (src/load_datasets.py).
SOURCE_DATASETS = {
    "1": "sajjadhadi/Mental-Disorder-Detection-Data",
    "2": "marmikpandya/mental-health",
    "3": "fadodr/mental_health_dataset",
    "4": "fadodr/mental_health_therapy",
    "5": "psycode1/psyset",
    "6": "marmikpandya/mental-health",
    "7": "Amod/mental_health_counseling_conversations",
    "8": "cypsiSAS/transformed_Suicidal_ideation",
    "9": "fanyin3639/test_test_self_harm_all_levels",
    "10": "arianaazarbal/self-harm-synthetic-eval",
    "11": "richie-ghost/suicidal_finetune",
    "16k": "ShenLab/MentalChat16K",
    "100k": "jerryjalapeno/nart-100k-synthetic",
}

# SUBSET: every answer in which this pattern finds something that may be a contact (a URL or bare
# domain, a group of 3+ digits or digit groups such as "116 123", or a word that names a kind of
# service), plus the answers whose id hashes into a fixed 1-in-10 sample (SHA-256 of SALT + id).
CONTACT_RE = re.compile(
    r"https?://|www\.|\b[\w-]+\.(?:org|com|gov|net|uk|au|ca|nz|ie|in|info|io|eu)\b|\d{3,}|\d{1,4}[ -]\d{2,4}"
    r"|\b(?:hotline|helpline|help line|lifeline|crisis line|crisis text|text line|samaritans|befrienders"
    r"|911|999|112|000)\b",
    re.IGNORECASE,
)
SALT = "popbench-real-answers-v1:"
SAMPLE_ONE_IN = 10

# Where the user says they are: one definition for every corpus (../country.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from country import detect_country  # noqa: E402



def hash_sampled(rec_id):
    return int(hashlib.sha256((SALT + rec_id).encode("utf-8")).hexdigest(), 16) % SAMPLE_ONE_IN == 0


def no_nan(x):
    """JSON has no NaN: the source's missing scores (NaN) become null."""
    if isinstance(x, float) and x != x:
        return None
    if isinstance(x, dict):
        return {k: no_nan(v) for k, v in x.items()}
    if isinstance(x, list):
        return [no_nan(v) for v in x]
    return x


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def main():
    args = sys.argv[1:]
    everything = "--all" in args
    # The user messages are mostly real people's posts (Reddit, counselling Q&A sites): they are
    # withheld unless asked for, and only the assistants' answers are kept (what the scorer reads).
    with_users = "--with-user-messages" in args
    args = [a for a in args if a not in ("--all", "--with-user-messages")]
    if len(args) != 1:
        sys.exit(__doc__)
    root = args[0]
    data = os.path.join(root, "data")
    validation = load(os.path.join(data, "processed", VALIDATION + ".json"))
    labels = load(os.path.join(data, "human_label", "human-labeled-sampled_dataset_n206_s42-merged_labels.json"))
    if [x["inputs"] for x in labels] != [x["inputs"] for x in validation]:
        sys.exit("human labels are not in validation-set order")
    scores = {}
    for rater in ("H1", "H2"):
        for x in load(os.path.join(data, "human_label", f"{rater}_scores_n206_s42.json")):
            scores.setdefault((x["inputs"], x["answer"]), {})[rater] = x.get("evaluation")
    files = sorted(glob.glob(os.path.join(data, "llm_answer", f"*-answers-{VALIDATION}-*.json")))
    if not files:
        sys.exit("no answer files under " + os.path.join(data, "llm_answer"))
    skipped = written = 0
    out = sys.stdout
    for path in files:
        base = os.path.basename(path)
        system, rest = base.split("-answers-", 1)
        run = rest[len(VALIDATION) + 1:-len(".json")]
        items = load(path)
        if [x["inputs"] for x in items] != [x["inputs"] for x in validation]:
            sys.exit(base + ": inputs are not in validation-set order")
        for i, x in enumerate(items):
            if not isinstance(x.get("answer"), str):
                skipped += 1
                continue
            rec_id = f"{CORPUS}-{system}-{run}-{i:03d}"
            has_contact = bool(CONTACT_RE.search(x["answer"]))
            if not everything and not has_contact and not hash_sampled(rec_id):
                continue
            user = "\n".join(x["inputs"])
            c, evidence = detect_country([user])
            ds = str(x.get("dataset_id", ""))
            ds_key = re.sub(r"^hugg(?:ing)?_", "", ds).lower()
            meta = {
                "item": i,
                "run": run,
                "source_file": base,
                "source_dataset_id": ds,
                "source_dataset": SOURCE_DATASETS.get(ds_key),
                "human_crisis_label": labels[i].get("label"),
                "human_crisis_labels_all": labels[i].get("all_labels"),
                "subset_reason": "contact_pattern" if has_contact else "hash_sample",
            }
            h = scores.get((" | ".join(x["inputs"]), x["answer"]))
            if h:
                meta["human_appropriateness"] = h
            for k in ("refusal", "annotations"):
                if x.get(k) not in (None, "", [], {}):
                    meta[k] = x[k]
            if evidence:
                meta["country_evidence"] = evidence
            if not with_users:
                user = ""
                meta["user_message_withheld"] = "a real person's post in the source corpus; not redistributed (see SOURCE.md)"
            out.write(json.dumps({
                "id": rec_id,
                "corpus": CORPUS,
                "system": system,
                "country": c,
                "messages": [{"role": "user", "content": user}, {"role": "assistant", "content": x["answer"]}],
                "meta": no_nan(meta),
            }, ensure_ascii=False, allow_nan=False) + "\n")
            written += 1
    print(f"{written} answers written, {skipped} API error objects skipped", file=sys.stderr)


if __name__ == "__main__":
    main()
