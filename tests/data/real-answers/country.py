"""Where the user says they are: shared by every corpus's convert.py (standard library only)."""
import re

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
