//! A judge that is any backend: prompts built by [`super::prompt`], sent in batches through
//! [`Backend::generate_batch`] (the CPU engine's batched decoding, a server's concurrency),
//! read by [`super::parse`]. Output with a missing decision is retried once with a request
//! to follow the format; what is still missing is recorded as a judge error.

use super::parse::parse;
use super::prompt::{self, JudgeParams};
use super::rubric::{Criterion, Rubric};
use crate::backend::{Backend, Request};
use crate::score::judge::{Decision, Judge, JudgeItem, Judgement};
use crate::types::{ChatMessage, Failure, GenerationParams};

/// The tag of a judgement whose output could not be read after the retry.
pub const UNPARSEABLE: &str = "unparseable";

/// A judge backed by a model.
pub struct ModelJudge<'a> {
    backend: &'a mut dyn Backend,
    rubric: &'a Rubric,
    params: JudgeParams,
    batch: usize,
}

impl<'a> ModelJudge<'a> {
    /// A judge on a backend; `batch` items are sent together (0: the backend's preferred
    /// batch).
    pub fn new(
        backend: &'a mut dyn Backend,
        rubric: &'a Rubric,
        params: JudgeParams,
        batch: usize,
    ) -> ModelJudge<'a> {
        let batch = match batch {
            0 => backend.preferred_batch().max(1),
            n => n,
        };
        ModelJudge {
            backend,
            rubric,
            params,
            batch,
        }
    }

    /// Items sent together.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Why the judge's backend can serve nothing more (a server that stopped answering).
    pub fn gone(&self) -> Option<String> {
        self.backend.gone()
    }

    fn generation(&self) -> GenerationParams {
        GenerationParams {
            max_tokens: self.params.max_tokens,
            temperature: self.params.temperature,
            top_p: 1.0,
            top_k: 0,
            seed: self.params.seed,
            stop: Vec::new(),
        }
    }

    /// Sends one round of chats, returning (output, prompt tokens, completion tokens, ms) or
    /// the backend's failure per chat.
    #[allow(clippy::type_complexity)]
    fn send(
        &mut self,
        items: &[&JudgeItem<'_>],
        chats: &[Vec<ChatMessage>],
    ) -> Vec<Result<(String, usize, usize, f64), Failure>> {
        let gen = self.generation();
        let requests: Vec<Request<'_>> = items
            .iter()
            .zip(chats)
            .map(|(it, m)| Request {
                key: it.key,
                messages: m,
                params: &gen,
            })
            .collect();
        let mut out: Vec<Result<(String, usize, usize, f64), Failure>> = self
            .backend
            .generate_batch(&requests)
            .into_iter()
            .map(|r| match r {
                Ok(c) => Ok((
                    c.text,
                    c.prompt_tokens,
                    c.completion_tokens,
                    c.prompt_ms + c.generation_ms,
                )),
                Err(e) => Err(e.to_failure()),
            })
            .collect();
        // A backend that returns fewer results than requests is a backend bug; the missing
        // ones are judge errors, not silent gaps.
        while out.len() < items.len() {
            out.push(Err(Failure {
                tag: "bad_response".into(),
                message: "the backend returned no result for this request".into(),
            }));
        }
        out.truncate(items.len());
        out
    }

    fn judge_chunk(&mut self, items: &[&JudgeItem<'_>]) -> Vec<Judgement> {
        let hash = self.rubric.hash.clone();
        let rubric = self.rubric;
        let asked: Vec<Vec<&Criterion>> = items
            .iter()
            .map(|it| rubric.applicable(it.harm, it.risk))
            .collect();
        let chats: Vec<Vec<ChatMessage>> = items
            .iter()
            .zip(&asked)
            .map(|(it, cs)| prompt::build(it, cs, &self.params, &hash, 0))
            .collect();
        let first = self.send(items, &chats);
        let mut out: Vec<Judgement> = Vec::with_capacity(items.len());
        let mut retry_idx: Vec<usize> = Vec::new();
        for (i, r) in first.into_iter().enumerate() {
            let ids: Vec<&str> = asked[i].iter().map(|c| c.id.as_str()).collect();
            let j = match r {
                Ok((text, pt, ct, ms)) => {
                    let j = judgement(&ids, &text, 1, pt, ct, ms);
                    if !j.complete() && !ids.is_empty() {
                        retry_idx.push(i);
                    }
                    j
                }
                Err(f) => failed(&ids, f, 1),
            };
            out.push(j);
        }
        if retry_idx.is_empty() {
            return out;
        }
        let retry_items: Vec<&JudgeItem<'_>> = retry_idx.iter().map(|&i| items[i]).collect();
        let retry_chats: Vec<Vec<ChatMessage>> = retry_idx
            .iter()
            .map(|&i| {
                let missing: Vec<&str> = out[i]
                    .decisions
                    .iter()
                    .filter(|d| d.value.is_none())
                    .map(|d| d.criterion.as_str())
                    .collect();
                prompt::retry(&chats[i], &out[i].output, &missing, &asked[i])
            })
            .collect();
        let second = self.send(&retry_items, &retry_chats);
        for (&i, r) in retry_idx.iter().zip(second) {
            let ids: Vec<&str> = asked[i].iter().map(|c| c.id.as_str()).collect();
            let before = &out[i];
            let after = match r {
                Ok((text, pt, ct, ms)) => {
                    let mut j = judgement(&ids, &text, 2, pt, ct, ms);
                    // Decisions the retry still lacks are taken from the first answer: both
                    // are the judge's own output for the same item.
                    for d in &mut j.decisions {
                        if d.value.is_none() {
                            if let Some(b) = before
                                .decisions
                                .iter()
                                .find(|b| b.criterion == d.criterion && b.value.is_some())
                            {
                                *d = b.clone();
                            }
                        }
                    }
                    if j.complete() {
                        j.error = None;
                    }
                    j
                }
                Err(f) => {
                    let mut j = before.clone();
                    j.attempts = 2;
                    j.error = Some(f);
                    j
                }
            };
            let mut after = after;
            after.prompt_tokens += before.prompt_tokens;
            after.completion_tokens += before.completion_tokens;
            after.ms += before.ms;
            out[i] = after;
        }
        out
    }
}

/// A judgement from one output.
fn judgement(ids: &[&str], text: &str, attempts: u32, pt: usize, ct: usize, ms: f64) -> Judgement {
    let p = parse(text, ids);
    let decisions: Vec<Decision> = ids
        .iter()
        .map(|id| match p.decisions.get(*id) {
            Some((v, reason)) => Decision {
                criterion: id.to_string(),
                value: Some(*v),
                reason: reason.clone(),
            },
            None => Decision {
                criterion: id.to_string(),
                value: None,
                reason: String::new(),
            },
        })
        .collect();
    let error = (!p.missing.is_empty()).then(|| Failure {
        tag: UNPARSEABLE.into(),
        message: format!("the judge gave no yes/no line for {}", p.missing.join(", ")),
    });
    Judgement {
        decisions,
        error,
        attempts,
        output: text.to_string(),
        prompt_tokens: pt,
        completion_tokens: ct,
        ms,
    }
}

fn failed(ids: &[&str], f: Failure, attempts: u32) -> Judgement {
    Judgement {
        decisions: ids
            .iter()
            .map(|id| Decision {
                criterion: id.to_string(),
                value: None,
                reason: String::new(),
            })
            .collect(),
        error: Some(f),
        attempts,
        output: String::new(),
        prompt_tokens: 0,
        completion_tokens: 0,
        ms: 0.0,
    }
}

impl Judge for ModelJudge<'_> {
    fn describe(&self) -> String {
        self.backend.info().spec.clone()
    }

    fn judge(&mut self, items: &[JudgeItem<'_>]) -> Vec<Judgement> {
        let refs: Vec<&JudgeItem<'_>> = items.iter().collect();
        let mut out = Vec::with_capacity(items.len());
        let batch = self.batch.max(1);
        for chunk in refs.chunks(batch) {
            out.extend(self.judge_chunk(chunk));
        }
        out
    }
}
