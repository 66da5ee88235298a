//! `replay:PATH` — responses a partner produced elsewhere, scored exactly like local ones.
//!
//! JSONL, one object per line:
//! `{"scenario_id": "dv-locked-room-gb-en", "sample": 0, "response": "…"}`, optionally with
//! `"context"` (default: the scenario's own context). Or CSV with a header naming the columns
//! `scenario_id`, `sample`, `response` and optionally `context`. `sample` defaults to 0.
//! Every item of the run must have exactly one response, and every response must belong to an
//! item of the run: anything else is an error that names the ids.
//!
//! A live multi-turn conversation (`popbench run --conversation live`, the default) needs the
//! answer to every child turn: a JSONL line then carries `"turns"`, the answers to the child
//! turns before the last in order, as a run journals them
//! (`[{"turn": 0, "response": "…"}, {"turn": 2, "response": "…"}]`; `turn` is the index in the
//! scenario's `turns` of the child turn answered; other fields of a journaled turn are
//! ignored), and `response` answers the last child turn. A request is matched to its turn by
//! the number of child messages it holds (the k-th child turn is answered by `turns[k]`, the
//! last by `response`). A file without per-turn answers replays live multi-turn items only in
//! scripted mode (`--conversation scripted`): a live run refuses it before it starts.

use super::{Backend, BackendError, Completion, Request};
use crate::types::{FileDigest, FinishReason, ItemKey, ModelInfo};
use serde::Deserialize;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplayLine {
    scenario_id: String,
    #[serde(default)]
    context: Option<String>,
    #[serde(default)]
    sample: u32,
    response: String,
    #[serde(default)]
    turns: Vec<ReplayTurn>,
}

/// A replayed answer to an earlier child turn of a live conversation.
#[derive(Debug, Clone, Deserialize)]
struct ReplayTurn {
    turn: usize,
    response: String,
}

/// One response of a replay file, with where it came from.
#[derive(Debug, Clone)]
struct Entry {
    context: Option<String>,
    response: String,
    turns: Vec<ReplayTurn>,
    line: usize,
}

/// A replay backend.
#[derive(Debug)]
pub struct ReplayBackend {
    info: ModelInfo,
    path: String,
    /// (scenario_id, sample) → entries (one per context, or one without context).
    entries: HashMap<(String, u32), Vec<Entry>>,
}

/// The most ids an error message lists before saying how many more there are.
const LIST_MAX: usize = 10;

fn list_ids<'a>(ids: impl IntoIterator<Item = &'a String>) -> String {
    let v: Vec<&String> = ids.into_iter().collect();
    let shown: Vec<&str> = v.iter().take(LIST_MAX).map(|s| s.as_str()).collect();
    let more = v.len().saturating_sub(LIST_MAX);
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

impl ReplayBackend {
    /// Reads a replay file (`.csv` by extension, else JSONL).
    pub fn open(path: &Path, spec: &str) -> Result<ReplayBackend, BackendError> {
        let bytes = std::fs::read(path)
            .map_err(|e| BackendError::Load(format!("{}: {e}", path.display())))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            // Where the bad bytes are, as `path:line` (a byte index means nothing to an
            // editor).
            let at = e.utf8_error().valid_up_to();
            let before = &e.as_bytes()[..at];
            let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
            let column = at
                - before
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |i| i + 1)
                + 1;
            BackendError::Load(format!(
                "{}:{line}: not UTF-8 (an invalid byte at column {column}); save the file as UTF-8",
                path.display()
            ))
        })?;
        let is_csv = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        let lines = if is_csv {
            parse_csv(path, &text)?
        } else {
            parse_jsonl(path, &text)?
        };
        let mut entries: HashMap<(String, u32), Vec<Entry>> = HashMap::new();
        for (line, l) in lines {
            let slot = entries
                .entry((l.scenario_id.clone(), l.sample))
                .or_default();
            if let Some(prev) = slot.iter().find(|e| e.context == l.context) {
                return Err(BackendError::Items(format!(
                    "{}:{line}: a second response for scenario `{}` sample {}{} (first at line {})",
                    path.display(),
                    l.scenario_id,
                    l.sample,
                    l.context
                        .as_deref()
                        .map(|c| format!(" context `{c}`"))
                        .unwrap_or_default(),
                    prev.line
                )));
            }
            slot.push(Entry {
                context: l.context,
                response: l.response,
                turns: l.turns,
                line,
            });
        }
        let sha = crate::hash::sha256_hex(text.as_bytes());
        let info = ModelInfo {
            spec: spec.to_string(),
            name: super::ModelSpec::Replay(path.to_path_buf()).short_name(),
            backend: "replay".into(),
            files: vec![FileDigest {
                path: path.display().to_string(),
                sha256: sha,
                bytes: text.len() as u64,
            }],
            device: "none".into(),
            ..ModelInfo::default()
        };
        Ok(ReplayBackend {
            info,
            path: path.display().to_string(),
            entries,
        })
    }
}

fn parse_jsonl(path: &Path, text: &str) -> Result<Vec<(usize, ReplayLine)>, BackendError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let l: ReplayLine = serde_json::from_str(raw)
            .map_err(|e| BackendError::Items(format!("{}:{}: {e}", path.display(), i + 1)))?;
        out.push((i + 1, l));
    }
    Ok(out)
}

/// The line of a quote that opens a field and is never closed: a file cut inside its last
/// quoted field (the csv reader would take the cut text as the whole field).
fn unclosed_quote(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    let mut line = 1;
    let mut opened_at = 0;
    let mut quoted = false;
    let mut field_start = true;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if quoted {
            if c == b'"' {
                if b.get(i + 1) == Some(&b'"') {
                    i += 1;
                } else {
                    quoted = false;
                }
            }
        } else if c == b'"' && field_start {
            quoted = true;
            opened_at = line;
        }
        if c == b'\n' {
            line += 1;
        }
        field_start = !quoted && matches!(c, b',' | b'\n' | b'\r');
        i += 1;
    }
    quoted.then_some(opened_at)
}

fn parse_csv(path: &Path, text: &str) -> Result<Vec<(usize, ReplayLine)>, BackendError> {
    if let Some(line) = unclosed_quote(text) {
        return Err(BackendError::Items(format!(
            "{}:{line}: a quoted field opens here and the file ends before its closing quote (a cut or torn file?)",
            path.display()
        )));
    }
    // Lines counted by newlines, so that CRLF files get the same line numbers as LF files
    // (the csv reader counts a CRLF record's start at the `\n` before it: a record never
    // starts with a line break, so the line is that of the first byte after them).
    let lines = crate::diag::Lines::new(path, text);
    let line_at = |p: Option<&csv::Position>| {
        p.map(|p| {
            let start = text.as_bytes()[(p.byte() as usize).min(text.len())..]
                .iter()
                .position(|&b| b != b'\r' && b != b'\n')
                .map_or(text.len(), |k| p.byte() as usize + k);
            lines.line(start)
        })
        .unwrap_or(0)
    };
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers = rdr
        .headers()
        .map_err(|e| BackendError::Items(format!("{}:1: {e}", path.display())))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h.trim() == name);
    let (Some(id_col), Some(resp_col)) = (col("scenario_id"), col("response")) else {
        return Err(BackendError::Items(format!(
            "{}:1: the header must name `scenario_id` and `response` columns",
            path.display()
        )));
    };
    let sample_col = col("sample");
    let ctx_col = col("context");
    for h in headers.iter() {
        if !["scenario_id", "response", "sample", "context"].contains(&h.trim()) {
            return Err(BackendError::Items(format!(
                "{}:1: unknown column `{h}`",
                path.display()
            )));
        }
    }
    let mut out = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = line_at(e.position());
            BackendError::Items(format!("{}:{line}: {e}", path.display()))
        })?;
        let line = line_at(rec.position());
        let get = |c: usize| rec.get(c).unwrap_or("").to_string();
        let sample = match sample_col.map(get) {
            None => 0,
            Some(s) if s.trim().is_empty() => 0,
            Some(s) => s.trim().parse().map_err(|_| {
                BackendError::Items(format!(
                    "{}:{line}: sample `{s}` is not a number",
                    path.display()
                ))
            })?,
        };
        let context = ctx_col.map(get).filter(|c| !c.trim().is_empty());
        out.push((
            line,
            ReplayLine {
                scenario_id: get(id_col),
                context,
                sample,
                response: get(resp_col),
                turns: Vec::new(),
            },
        ));
    }
    Ok(out)
}

impl Backend for ReplayBackend {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn check_items(&self, items: &[ItemKey]) -> Result<(), BackendError> {
        resolve(&self.entries, items, &self.path)
    }

    fn check_turns(&self, items: &[(ItemKey, Vec<usize>)]) -> Result<(), BackendError> {
        let mut missing = Vec::new();
        let mut wrong = Vec::new();
        for (key, turns) in items {
            let Some(e) = lookup(&self.entries, key) else {
                continue; // check_items names it
            };
            let have: Vec<usize> = e.turns.iter().map(|t| t.turn).collect();
            if have.is_empty() {
                missing.push(format!("{key}"));
            } else if &have != turns {
                wrong.push(format!(
                    "{}:{}: {key}: `turns` answers child turns {have:?}, the scenario's earlier child turns are {turns:?}",
                    self.path, e.line
                ));
            }
        }
        let mut problems = Vec::new();
        if !missing.is_empty() {
            problems.push(format!(
                "{}: no per-turn answers (`turns`) for {} multi-turn item(s) run live: {}\nhint: a live conversation needs the model's answer to every child turn; replay this file with --conversation scripted (the scenario's scripted turns are sent, the response answers the last turn)",
                self.path,
                missing.len(),
                list_ids(&missing)
            ));
        }
        if !wrong.is_empty() {
            problems.push(list_ids(&wrong));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(BackendError::Items(problems.join("\n")))
        }
    }

    fn covers(&self, key: &ItemKey) -> Option<bool> {
        Some(lookup(&self.entries, key).is_some())
    }

    fn generate(&mut self, request: &Request<'_>) -> Result<Completion, BackendError> {
        let entry = lookup(&self.entries, request.key).ok_or_else(|| {
            BackendError::Items(format!("{}: no response for {}", self.path, request.key))
        })?;
        // The k-th child turn (k from 0) is answered by turns[k]; the last by the response.
        let k = request
            .messages
            .iter()
            .filter(|m| m.role == "user")
            .count()
            .saturating_sub(1);
        let text = entry
            .turns
            .get(k)
            .map_or(&entry.response, |t| &t.response)
            .clone();
        Ok(Completion {
            text,
            prompt_tokens: 0,
            completion_tokens: 0,
            prompt_ms: 0.0,
            generation_ms: 0.0,
            finish_reason: FinishReason::Replayed,
        })
    }
}

fn lookup<'a>(entries: &'a HashMap<(String, u32), Vec<Entry>>, key: &ItemKey) -> Option<&'a Entry> {
    let slot = entries.get(&(key.scenario_id.clone(), key.sample))?;
    slot.iter()
        .find(|e| e.context.as_deref() == Some(key.context.as_str()))
        .or_else(|| slot.iter().find(|e| e.context.is_none()))
}

/// Checks replay lines against run items: every item needs one line, every line one item.
fn resolve(
    entries: &HashMap<(String, u32), Vec<Entry>>,
    items: &[ItemKey],
    path: &str,
) -> Result<(), BackendError> {
    let mut missing: BTreeSet<String> = BTreeSet::new();
    let mut used: BTreeSet<(String, u32, Option<String>)> = BTreeSet::new();
    let mut contexts_per: HashMap<(&str, u32), usize> = HashMap::new();
    for k in items {
        *contexts_per
            .entry((k.scenario_id.as_str(), k.sample))
            .or_default() += 1;
    }
    for k in items {
        let slot = entries.get(&(k.scenario_id.clone(), k.sample));
        let exact = slot.and_then(|s| {
            s.iter()
                .find(|e| e.context.as_deref() == Some(k.context.as_str()))
        });
        // A line without context stands for the scenario's own context; that is only
        // unambiguous when the run has one context per scenario.
        let default = || {
            slot.and_then(|s| s.iter().find(|e| e.context.is_none()))
                .filter(|_| contexts_per.get(&(k.scenario_id.as_str(), k.sample)) == Some(&1))
        };
        match exact.or_else(default) {
            Some(e) => {
                used.insert((k.scenario_id.clone(), k.sample, e.context.clone()));
            }
            None => {
                missing.insert(format!(
                    "{} (context {}, sample {})",
                    k.scenario_id, k.context, k.sample
                ));
            }
        }
    }
    let mut unknown: Vec<(usize, String)> = Vec::new();
    for ((id, sample), slot) in entries {
        for e in slot {
            if !used.contains(&(id.clone(), *sample, e.context.clone())) {
                unknown.push((
                    e.line,
                    format!(
                        "{path}:{}: {id} (sample {sample}{})",
                        e.line,
                        e.context
                            .as_deref()
                            .map(|c| format!(", context {c}"))
                            .unwrap_or_default()
                    ),
                ));
            }
        }
    }
    unknown.sort();
    let mut problems = Vec::new();
    if !missing.is_empty() {
        problems.push(format!(
            "{path}: no response for {} run item(s): {}",
            missing.len(),
            list_ids(&missing)
        ));
    }
    if !unknown.is_empty() {
        let names: Vec<String> = unknown.into_iter().map(|(_, s)| s).collect();
        problems.push(format!(
            "{} response(s) match no item of this run (unknown scenario id, sample or context): {}",
            names.len(),
            list_ids(&names)
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(BackendError::Items(problems.join("\n")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, ctx: &str, s: u32) -> ItemKey {
        ItemKey {
            scenario_id: id.into(),
            context: ctx.into(),
            sample: s,
        }
    }

    #[test]
    fn jsonl_and_csv_resolve_and_name_missing_and_unknown_ids() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.jsonl");
        std::fs::write(&p, "{\"scenario_id\":\"a\",\"sample\":0,\"response\":\"hi\"}\n{\"scenario_id\":\"zz\",\"sample\":0,\"response\":\"x\"}\n").unwrap();
        let mut b = ReplayBackend::open(&p, "replay:r.jsonl").unwrap();
        let err = b
            .check_items(&[key("a", "c", 0), key("b", "c", 0)])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no response for 1 run item(s): b (context c, sample 0)"),
            "{err}"
        );
        assert!(err.contains("r.jsonl:2: zz"), "{err}");
        let items = [key("a", "c", 0)];
        let p2 = dir.path().join("ok.csv");
        std::fs::write(
            &p2,
            "scenario_id,sample,response\na,0,\"hello, \"\"friend\"\"\"\n",
        )
        .unwrap();
        let mut c = ReplayBackend::open(&p2, "replay:ok.csv").unwrap();
        c.check_items(&items).unwrap();
        let params = crate::types::GenerationParams::default();
        let out = c
            .generate(&Request {
                key: &items[0],
                messages: &[],
                params: &params,
            })
            .unwrap();
        assert_eq!(out.text, "hello, \"friend\"");
        assert!(b
            .generate(&Request {
                key: &key("q", "c", 0),
                messages: &[],
                params: &params
            })
            .is_err());
    }

    #[test]
    fn bad_lines_report_their_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.jsonl");
        std::fs::write(
            &p,
            "{\"scenario_id\":\"a\",\"response\":\"hi\"}\n{\"scenario_id\":\"a\"}\n",
        )
        .unwrap();
        let e = ReplayBackend::open(&p, "replay:r").unwrap_err().to_string();
        assert!(e.contains("r.jsonl:2:"), "{e}");
        std::fs::write(&p, "{\"scenario_id\":\"a\",\"response\":\"hi\"}\n{\"scenario_id\":\"a\",\"response\":\"again\"}\n").unwrap();
        let e = ReplayBackend::open(&p, "replay:r").unwrap_err().to_string();
        assert!(e.contains("r.jsonl:2: a second response"), "{e}");
        let c = dir.path().join("r.csv");
        std::fs::write(&c, "scenario_id,answer\na,hi\n").unwrap();
        let e = ReplayBackend::open(&c, "replay:r").unwrap_err().to_string();
        assert!(e.contains("r.csv:1:"), "{e}");
    }

    /// Issue 26: a CSV cut inside its last quoted field was accepted, its last response stored
    /// short.
    #[test]
    fn csv_torn_last_quoted_field_is_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let c = dir.path().join("r.csv");
        std::fs::write(
            &c,
            "scenario_id,sample,response\na,0,\"whole, \"\"quoted\"\"\"\nb,0,\"line one\nline two, cut her",
        )
        .unwrap();
        let e = ReplayBackend::open(&c, "replay:r").unwrap_err().to_string();
        assert!(e.contains("r.csv:3: a quoted field opens here"), "{e}");
        // Quotes inside an unquoted field, and a closed last field without a newline, are fine.
        std::fs::write(&c, "scenario_id,response\na,say \"hi\"\nb,\"done\"").unwrap();
        ReplayBackend::open(&c, "replay:r").unwrap();
        assert_eq!(unclosed_quote("a,\"x\"\"\n"), Some(1));
        assert_eq!(unclosed_quote("a,\"x\"\"\""), None);
    }

    /// Issue 26: a CRLF CSV reported line numbers one too low.
    #[test]
    fn csv_crlf_line_numbers_one_too_low() {
        let dir = tempfile::tempdir().unwrap();
        let c = dir.path().join("r.csv");
        for eol in ["\n", "\r\n"] {
            let text = ["scenario_id,sample,response", "a,0,hi", "b,x,hi", ""].join(eol);
            std::fs::write(&c, text).unwrap();
            let e = ReplayBackend::open(&c, "replay:r").unwrap_err().to_string();
            assert!(e.contains("r.csv:3: sample `x`"), "{eol:?}: {e}");
            let text = ["scenario_id,sample,response", "a,0,hi", "a,0,again", ""].join(eol);
            std::fs::write(&c, text).unwrap();
            let e = ReplayBackend::open(&c, "replay:r").unwrap_err().to_string();
            assert!(e.contains("r.csv:3: a second response"), "{eol:?}: {e}");
            let text = ["scenario_id,sample,response", "a,0,hi", "b,0", ""].join(eol);
            std::fs::write(&c, text).unwrap();
            let e = ReplayBackend::open(&c, "replay:r").unwrap_err().to_string();
            assert!(e.contains("r.csv:3:"), "{eol:?}: {e}");
        }
    }

    /// Issue 26: invalid UTF-8 was reported as a byte index, not as `path:line`.
    #[test]
    fn replay_invalid_utf8_reported_as_byte_index() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.jsonl");
        let mut bytes =
            b"{\"scenario_id\":\"a\",\"response\":\"hi\"}\n{\"scenario_id\":\"b\",\"response\":\""
                .to_vec();
        bytes.extend_from_slice(&[0xff, 0xfe]);
        bytes.extend_from_slice(b"\"}\n");
        std::fs::write(&p, bytes).unwrap();
        let e = ReplayBackend::open(&p, "replay:r").unwrap_err().to_string();
        assert!(
            e.contains("r.jsonl:2: not UTF-8 (an invalid byte at column 32)"),
            "{e}"
        );
        assert!(!e.contains("index"), "{e}");
    }
}
