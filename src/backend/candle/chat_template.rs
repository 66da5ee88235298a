//! The model's own chat template (GGUF `tokenizer.chat_template` or tokenizer_config.json
//! `chat_template`), rendered with minijinja set up the way Hugging Face renders templates:
//! `trim_blocks` + `lstrip_blocks`, loop controls, Python string methods (pycompat),
//! `raise_exception`, `strftime_now`, and a `tojson` that does not HTML-escape.

use crate::types::ChatMessage;
use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error, ErrorKind};
use std::collections::BTreeMap;

/// Environment variable that pins the date `strftime_now` reports (`YYYY-MM-DD`), so that
/// templates that print today's date (Llama 3.x) give reproducible prompts.
pub const DATE_ENV: &str = "POPBENCH_TEMPLATE_DATE";

/// A compiled chat template.
pub struct ChatTemplate {
    env: Environment<'static>,
    source: String,
    /// Extra variables: `bos_token`, `eos_token`, and other special tokens by name.
    vars: BTreeMap<String, String>,
}

impl std::fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatTemplate")
            .field("vars", &self.vars)
            .finish_non_exhaustive()
    }
}

impl ChatTemplate {
    /// Compiles a template. `vars` become template variables (`bos_token`, `eos_token`…).
    pub fn new(source: &str, vars: BTreeMap<String, String>) -> Result<ChatTemplate, String> {
        let mut env = Environment::new();
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .trim_blocks(true)
                .lstrip_blocks(true)
                .build()
                .map_err(|e| e.to_string())?,
        );
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", raise_exception);
        env.add_function("strftime_now", strftime_now);
        env.add_filter("tojson", tojson);
        env.add_template_owned("chat_template", source.to_string())
            .map_err(describe)?;
        Ok(ChatTemplate {
            env,
            source: source.to_string(),
            vars,
        })
    }

    /// The template text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// sha256 of the template text, hex.
    pub fn sha256(&self) -> String {
        crate::hash::sha256_hex(self.source.as_bytes())
    }

    /// Renders a chat; with `add_generation_prompt` the prompt ends where the assistant's
    /// reply begins.
    pub fn render(
        &self,
        messages: &[ChatMessage],
        add_generation_prompt: bool,
    ) -> Result<String, String> {
        let tmpl = self.env.get_template("chat_template").map_err(describe)?;
        let mut ctx: BTreeMap<String, Value> = self
            .vars
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.clone())))
            .collect();
        ctx.insert(
            "messages".into(),
            Value::from(minijinja::value::Serde(messages)),
        );
        ctx.insert(
            "add_generation_prompt".into(),
            Value::from(add_generation_prompt),
        );
        tmpl.render(Value::from(ctx)).map_err(describe)
    }
}

fn describe(e: Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(c) = src {
        s.push_str(&format!(": {c}"));
        src = c.source();
    }
    s
}

fn raise_exception(msg: String) -> Result<Value, Error> {
    Err(Error::new(
        ErrorKind::InvalidOperation,
        format!("template raised: {msg}"),
    ))
}

fn today() -> time::OffsetDateTime {
    if let Ok(d) = std::env::var(DATE_ENV) {
        let fmt = time::macros::format_description!("[year]-[month]-[day]");
        if let Ok(date) = time::Date::parse(d.trim(), &fmt) {
            return date.midnight().assume_utc();
        }
    }
    time::OffsetDateTime::now_utc()
}

/// Python's `strftime` for the directives chat templates use.
fn strftime_now(fmt: String) -> Result<Value, Error> {
    Ok(Value::from(strftime(&today(), &fmt)))
}

/// Formats a time with Python `strftime` directives (%d %m %Y %y %b %B %a %A %H %M %S %j %p %I %%).
pub fn strftime(t: &time::OffsetDateTime, fmt: &str) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    const DAYS: [&str; 7] = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    let month = MONTHS[(u8::from(t.month()) - 1) as usize];
    let day = DAYS[t.weekday().number_days_from_monday() as usize];
    let mut out = String::new();
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('d') => out.push_str(&format!("{:02}", t.day())),
            Some('m') => out.push_str(&format!("{:02}", u8::from(t.month()))),
            Some('Y') => out.push_str(&t.year().to_string()),
            Some('y') => out.push_str(&format!("{:02}", t.year() % 100)),
            Some('b') => out.push_str(&month[..3]),
            Some('B') => out.push_str(month),
            Some('a') => out.push_str(&day[..3]),
            Some('A') => out.push_str(day),
            Some('H') => out.push_str(&format!("{:02}", t.hour())),
            Some('I') => out.push_str(&format!("{:02}", (t.hour() + 11) % 12 + 1)),
            Some('p') => out.push_str(if t.hour() < 12 { "AM" } else { "PM" }),
            Some('M') => out.push_str(&format!("{:02}", t.minute())),
            Some('S') => out.push_str(&format!("{:02}", t.second())),
            Some('j') => out.push_str(&format!("{:03}", t.ordinal())),
            Some('%') => out.push('%'),
            Some(o) => {
                out.push('%');
                out.push(o);
            }
            None => out.push('%'),
        }
    }
    out
}

/// `tojson` as Hugging Face defines it: `json.dumps(x, ensure_ascii=False, indent=…)`, with
/// Python's separators and no HTML escaping.
fn tojson(value: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let indent: Option<usize> = kwargs.get("indent")?;
    let sort_keys: Option<bool> = kwargs.get("sort_keys")?;
    kwargs.assert_all_used()?;
    let mut out = String::new();
    py_json(&value, indent, sort_keys.unwrap_or(false), 0, &mut out)?;
    Ok(Value::from_safe_string(out))
}

/// Writes a value as Python's `json.dumps` does, keeping map order.
fn py_json(
    v: &Value,
    indent: Option<usize>,
    sort: bool,
    depth: usize,
    out: &mut String,
) -> Result<(), Error> {
    use minijinja::value::ValueKind as K;
    let newline = |out: &mut String, d: usize| {
        if let Some(n) = indent {
            out.push('\n');
            out.push_str(&" ".repeat(n * d));
        }
    };
    let sep = if indent.is_some() { "," } else { ", " };
    let bad = |e: serde_json::Error| Error::new(ErrorKind::InvalidOperation, e.to_string());
    match v.kind() {
        K::Undefined | K::None => out.push_str("null"),
        K::String => {
            out.push_str(&serde_json::to_string(v.as_str().unwrap_or_default()).map_err(bad)?)
        }
        K::Map => {
            let mut keys: Vec<Value> = v.try_iter()?.collect();
            if sort {
                keys.sort();
            }
            if keys.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push_str(sep);
                }
                newline(out, depth + 1);
                let key = k
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| k.to_string());
                out.push_str(&serde_json::to_string(&key).map_err(bad)?);
                out.push_str(": ");
                py_json(&v.get_item(k)?, indent, sort, depth + 1, out)?;
            }
            newline(out, depth);
            out.push('}');
        }
        K::Seq | K::Iterable => {
            let items: Vec<Value> = v.try_iter()?.collect();
            if items.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(sep);
                }
                newline(out, depth + 1);
                py_json(x, indent, sort, depth + 1, out)?;
            }
            newline(out, depth);
            out.push(']');
        }
        _ => out.push_str(&serde_json::to_string(v).map_err(bad)?),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> BTreeMap<String, String> {
        [
            ("bos_token".to_string(), "<s>".to_string()),
            ("eos_token".to_string(), "</s>".to_string()),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn hugging_face_features() {
        let src = "{%- for m in messages %}{% if m.role == 'bad' %}{{ raise_exception('no') }}{% endif %}\n{{ bos_token }}{{ m.role.upper() }}: {{ m.content.strip() }}|{{ m | tojson }}\n{% if loop.index > 5 %}{% break %}{% endif %}{% endfor %}\n{% if add_generation_prompt %}A:{% endif %}";
        let t = ChatTemplate::new(src, vars()).unwrap();
        let out = t
            .render(&[ChatMessage::new("user", "  <b>&hi  ")], true)
            .unwrap();
        assert_eq!(
            out,
            "<s>USER: <b>&hi|{\"role\": \"user\", \"content\": \"  <b>&hi  \"}\nA:"
        );
        let err = t
            .render(&[ChatMessage::new("bad", "x")], false)
            .unwrap_err();
        assert!(err.contains("no"), "{err}");
    }

    #[test]
    fn strftime_directives() {
        let t = time::macros::datetime!(2024-07-26 09:05:03 UTC);
        assert_eq!(strftime(&t, "%d %b %Y"), "26 Jul 2024");
        assert_eq!(
            strftime(&t, "%A %B %j %H:%M:%S %%"),
            "Friday July 208 09:05:03 %"
        );
    }

    #[test]
    fn tojson_indent_matches_python() {
        let t = ChatTemplate::new("{{ x | tojson(indent=2) }}", BTreeMap::new()).unwrap();
        let env_out = t
            .env
            .render_str("{{ {'a': [1, 2], 'b': 'é'} | tojson(indent=2) }}", ())
            .unwrap();
        assert_eq!(
            env_out,
            "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": \"é\"\n}"
        );
    }
}
