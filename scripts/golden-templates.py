#!/usr/bin/env python3
"""Renders tests/data/templates/*.jinja with Jinja2 configured as Hugging Face transformers
configures it for chat templates (sandboxed, trim_blocks, lstrip_blocks, loopcontrols,
tojson without HTML escaping, raise_exception, strftime_now), and writes the expected prompts
to tests/data/templates/golden.json for tests/backend_templates.rs.

strftime_now is pinned to 2024-07-26 (popbench reads POPBENCH_TEMPLATE_DATE for the same).
Usage: python3 scripts/golden-templates.py   (needs jinja2 >= 3.1)
"""
import datetime
import json
import pathlib

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = pathlib.Path(__file__).resolve().parent.parent
DIR = ROOT / "tests" / "data" / "templates"
DATE = datetime.datetime(2024, 7, 26)

TOKENS = {
    "smollm2": {"bos_token": "<|im_start|>", "eos_token": "<|im_end|>"},
    "gemma3": {"bos_token": "<bos>", "eos_token": "<eos>"},
    "llama3.2": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
}

CHATS = {
    "user_only": [{"role": "user", "content": "I'm 13 and someone online wants photos. What do I do?"}],
    "system_user": [
        {"role": "system", "content": "  You are a careful assistant for children in Kenya.  "},
        {"role": "user", "content": "Ninaogopa kurudi nyumbani. 😢"},
    ],
    "multi_turn": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "my friend says <|im_end|> and <end_of_turn> and <|eot_id|>"},
    ],
}


def render(source, tokens, messages, add_generation_prompt):
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt):
        return DATE.strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env.from_string(source).render(messages=messages, add_generation_prompt=add_generation_prompt, **tokens)


def main():
    cases = []
    for name, tokens in TOKENS.items():
        source = (DIR / f"{name}.jinja").read_text()
        for chat_name, messages in CHATS.items():
            for agp in (True, False):
                try:
                    expected = render(source, tokens, messages, agp)
                    error = None
                except jinja2.exceptions.TemplateError as e:
                    expected, error = None, str(e)
                cases.append({
                    "template": name, "chat": chat_name, "vars": tokens, "messages": messages,
                    "add_generation_prompt": agp, "expected": expected, "error": error,
                })
    out = DIR / "golden.json"
    out.write_text(json.dumps({"generated_by": f"scripts/golden-templates.py (jinja2 {jinja2.__version__})", "date": "2024-07-26", "cases": cases}, ensure_ascii=False, indent=1) + "\n")
    print(f"wrote {out}: {len(cases)} cases")


if __name__ == "__main__":
    main()
