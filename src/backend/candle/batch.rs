//! Batched generation on popbench's engine (and, through the same request handling, on the
//! batched candle model of `batched`): the requests of a batch are prefilled together
//! (prompt chunks of several sequences in one pass) and decoded together, one row per live
//! sequence per step, each sequence with its own KV cache. Rows are computed independently, so
//! every reply is the one the request would get alone (greedy: bit for bit; sampled: the same
//! draws, each request keeps its own seeded sampler).
//!
//! On the engine a prompt starts from the longest prefix the prefix cache holds of it (a
//! conversation's previous turn and the model's answer, a deployment context's system prompt;
//! see `prefix`) instead of recomputing it, and each sequence goes back to the cache, reply
//! included, when the batch ends.

use super::native::Native;
use super::{sampling, top_two, CandleBackend, ChatTokenizer};
use crate::backend::{BackendError, Completion, Request};
use crate::types::{FinishReason, GenerationParams};
use candle_core::{Device, Tensor};
use candle_transformers::generation::LogitsProcessor;
use popbench_engine::{Sequence, Step};
use std::sync::Arc;
use std::time::Instant;

/// Prompt rows per prefill pass: enough to keep the tiled products busy, few enough to bound
/// the scratch memory.
const PREFILL_ROWS: usize = 512;

/// Runs what is left of each prompt (`prompts[i][done[i]..]`) into `seqs[i]`, in passes of up
/// to [`PREFILL_ROWS`] rows drawn from the sequences in order; returns the logits after each
/// prompt's last token.
fn prefill(
    native: &mut Native,
    seqs: &mut [Sequence],
    prompts: &[&[u32]],
    done: &mut [usize],
) -> Result<Vec<Vec<f32>>, String> {
    let mut logits: Vec<Vec<f32>> = vec![Vec::new(); seqs.len()];
    while prompts.iter().zip(done.iter()).any(|(p, d)| *d < p.len()) {
        let mut budget = PREFILL_ROWS;
        let mut steps: Vec<Step<'_>> = Vec::new();
        let mut owners: Vec<usize> = Vec::new();
        for (i, seq) in seqs.iter_mut().enumerate() {
            let left = prompts[i].len() - done[i];
            if budget == 0 || left == 0 {
                continue;
            }
            let n = left.min(budget);
            budget -= n;
            steps.push(Step {
                seq,
                tokens: &prompts[i][done[i]..done[i] + n],
                logits: done[i] + n == prompts[i].len(),
            });
            done[i] += n;
            owners.push(i);
        }
        let wanted: Vec<bool> = steps.iter().map(|s| s.logits).collect();
        let out = native
            .engine()
            .forward(&mut steps)
            .map_err(|e| e.to_string())?;
        let mut out = out.into_iter();
        for (i, w) in owners.into_iter().zip(wanted) {
            if w {
                logits[i] = out.next().unwrap_or_default();
            }
        }
    }
    Ok(logits)
}

/// One decode pass: `tokens[j]` appended to `seqs[live[j]]`; returns the logits of each.
fn step(
    native: &mut Native,
    seqs: &mut [Sequence],
    live: &[usize],
    tokens: &[u32],
) -> Result<Vec<Vec<f32>>, String> {
    let mut steps: Vec<Step<'_>> = Vec::with_capacity(live.len());
    let mut it = live.iter().zip(tokens).peekable();
    for (i, seq) in seqs.iter_mut().enumerate() {
        if let Some((_, tok)) = it.next_if(|(&j, _)| j == i) {
            steps.push(Step {
                seq,
                tokens: std::slice::from_ref(tok),
                logits: true,
            });
        }
    }
    native
        .engine()
        .forward(&mut steps)
        .map_err(|e| e.to_string())
}

/// Watches a reply for its request's stop strings ([`GenerationParams::stop`]): after each
/// token the reply so far is decoded whole (so a stop string split across tokens, or a
/// character split across byte tokens, is seen once its last piece arrives) and searched.
pub(super) struct StopScan {
    tokenizer: Arc<ChatTokenizer>,
    params: GenerationParams,
}

impl StopScan {
    /// A scan for `params`' stop strings; None when it has none.
    pub(super) fn new(
        tokenizer: &Arc<ChatTokenizer>,
        params: &GenerationParams,
    ) -> Option<StopScan> {
        (!params.stop.is_empty()).then(|| StopScan {
            tokenizer: tokenizer.clone(),
            params: GenerationParams {
                stop: params.stop.clone(),
                ..GenerationParams::default()
            },
        })
    }

    /// The text of `out` up to its last whole character (a character whose bytes have not all
    /// arrived decodes as U+FFFD at the end, and is left out until they have), and where the
    /// first stop string in it starts.
    pub(super) fn scan(&self, out: &[u32]) -> Result<(String, Option<usize>), String> {
        let mut text = self.tokenizer.decode(out)?;
        let whole = text.trim_end_matches(char::REPLACEMENT_CHARACTER).len();
        text.truncate(whole);
        let at = self.params.stop_position(&text);
        Ok((text, at))
    }
}

/// One request's reply as it is decoded.
pub(super) struct Reply {
    /// Tokens the reply may have.
    pub(super) max_new: usize,
    /// Tokens so far.
    pub(super) out: Vec<u32>,
    sampler: LogitsProcessor,
    /// The request's stop strings, if it has any.
    stop: Option<StopScan>,
    /// Why it stopped (None: still going).
    pub(super) finish: Option<FinishReason>,
    /// Decode time until it stopped.
    pub(super) generation_ms: f64,
}

impl Reply {
    /// Samples the token after `logits`; records why the reply stops, if it does: an
    /// end-of-turn token (not part of the reply), a stop string in the reply's text (the tokens
    /// that wrote it are part of the reply; its text is cut when the reply is decoded), or the
    /// token limit.
    pub(super) fn take(&mut self, logits: &[f32], stop_ids: &[u32]) -> Result<(), String> {
        if self.out.len() >= self.max_new {
            self.finish = Some(FinishReason::Length);
            return Ok(());
        }
        let t = Tensor::new(logits, &Device::Cpu).map_err(|e| e.to_string())?;
        let next = self.sampler.sample(&t).map_err(|e| e.to_string())?;
        if stop_ids.contains(&next) {
            self.finish = Some(FinishReason::Stop);
            return Ok(());
        }
        self.out.push(next);
        if let Some(scan) = &self.stop {
            if scan.scan(&self.out)?.1.is_some() {
                self.finish = Some(FinishReason::Stop);
                return Ok(());
            }
        }
        if self.out.len() >= self.max_new {
            self.finish = Some(FinishReason::Length);
        }
        Ok(())
    }
}

/// The text of a finished reply: `out` decoded, cut before its first stop string (finish
/// reason stop then). A reply stopped by the token limit ends at its last whole character:
/// a character whose bytes had not all been generated decodes as U+FFFD at the end, and is
/// not part of the reply (the same rule as [`StopScan::scan`], so streamed text and the
/// reply agree). U+FFFD inside the text, or at the end of a reply the model ended itself, is
/// the model's and stays.
pub(super) fn reply_text(
    tokenizer: &ChatTokenizer,
    out: &[u32],
    params: &GenerationParams,
    finish: FinishReason,
) -> Result<(String, FinishReason), String> {
    let mut text = tokenizer.decode(out)?;
    match params.stop_position(&text) {
        Some(at) => {
            text.truncate(at);
            Ok((text, FinishReason::Stop))
        }
        None => {
            if finish == FinishReason::Length {
                let whole = text.trim_end_matches(char::REPLACEMENT_CHARACTER).len();
                text.truncate(whole);
            }
            Ok((text, finish))
        }
    }
}

pub(super) fn gen_err(e: impl std::fmt::Display) -> BackendError {
    BackendError::Generate(e.to_string())
}

/// Refuses teacher-forcing pairs that cannot run: an empty prompt, or a prompt and
/// continuation longer than the model's `context`.
pub(super) fn check_pairs(items: &[(&[u32], &[u32])], context: usize) -> Result<(), BackendError> {
    if items
        .iter()
        .any(|(p, c)| p.is_empty() || p.len() + c.len() > context)
    {
        return Err(gen_err(
            "a prompt is empty, or prompt and continuation exceed the context",
        ));
    }
    Ok(())
}

/// Generates replies to `requests` together; results in request order.
pub(super) fn generate(
    b: &mut CandleBackend,
    requests: &[Request<'_>],
) -> Vec<Result<Completion, BackendError>> {
    let mut results: Vec<Option<Result<Completion, BackendError>>> =
        requests.iter().map(|_| None).collect();
    let mut index = Vec::new();
    let mut prompts = Vec::new();
    let mut replies = Vec::new();
    for (i, r) in requests.iter().enumerate() {
        let prepared = b
            .prompt_ids(r.messages, true)
            .and_then(|p| Ok((b.max_new_tokens(&p, r.params)?, p)));
        match prepared {
            Ok((max_new, prompt)) => {
                index.push(i);
                prompts.push(prompt);
                replies.push(Reply {
                    max_new,
                    out: Vec::new(),
                    sampler: LogitsProcessor::from_sampling(r.params.seed, sampling(r.params)),
                    stop: StopScan::new(&b.tokenizer, r.params),
                    finish: None,
                    generation_ms: 0.0,
                });
            }
            Err(e) => results[i] = Some(Err(e)),
        }
    }
    let ran = if b.model.native().is_some() {
        run(b, &prompts, &mut replies)
    } else {
        super::batched::run(b, &prompts, &mut replies)
    };
    match ran {
        Ok(prompt_ms) => {
            for ((i, prompt), reply) in index.into_iter().zip(&prompts).zip(replies) {
                let text = reply_text(
                    &b.tokenizer,
                    &reply.out,
                    requests[i].params,
                    reply.finish.unwrap_or(FinishReason::Length),
                )
                .map_err(BackendError::Generate);
                results[i] = Some(text.map(|(text, finish_reason)| Completion {
                    text,
                    prompt_tokens: prompt.len(),
                    completion_tokens: reply.out.len(),
                    prompt_ms,
                    generation_ms: reply.generation_ms,
                    finish_reason,
                }));
            }
        }
        Err(e) => {
            for i in index {
                results[i] = Some(Err(gen_err(&e)));
            }
        }
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(gen_err("no result"))))
        .collect()
}

/// Prefills and decodes; returns the prompt time (the batch's, shared by its requests).
fn run(b: &mut CandleBackend, prompts: &[Vec<u32>], replies: &mut [Reply]) -> Result<f64, String> {
    let stop_ids = b.stop_ids.clone();
    let native = b
        .model
        .native()
        .ok_or("the model is not on popbench's engine")?;
    let t0 = Instant::now();
    let refs: Vec<&[u32]> = prompts.iter().map(Vec::as_slice).collect();
    let capacities: Vec<usize> = prompts
        .iter()
        .zip(replies.iter())
        .map(|(p, r)| p.len() + r.max_new)
        .collect();
    let (mut seqs, mut done) = native.start_batch(&refs, &capacities);
    let first = prefill(native, &mut seqs, &refs, &mut done)?;
    let prompt_ms = t0.elapsed().as_secs_f64() * 1e3;
    let t1 = Instant::now();
    for (r, lg) in replies.iter_mut().zip(&first) {
        r.take(lg, &stop_ids)?;
    }
    loop {
        let live: Vec<usize> = (0..replies.len())
            .filter(|&i| replies[i].finish.is_none())
            .collect();
        for r in replies
            .iter_mut()
            .filter(|r| r.finish.is_some() && r.generation_ms == 0.0)
        {
            r.generation_ms = t1.elapsed().as_secs_f64() * 1e3;
        }
        if live.is_empty() {
            break;
        }
        let tokens: Vec<u32> = live
            .iter()
            .map(|&i| *replies[i].out.last().expect("a live reply has a token"))
            .collect();
        let logits = step(native, &mut seqs, &live, &tokens)?;
        for (&i, lg) in live.iter().zip(&logits) {
            replies[i].take(lg, &stop_ids)?;
        }
    }
    let outs: Vec<&[u32]> = replies.iter().map(|r| r.out.as_slice()).collect();
    native.finish_batch(&refs, &outs, seqs);
    Ok(prompt_ms)
}

/// Teacher forcing of several (prompt, continuation) pairs together: for each pair and step,
/// the model's top token and the gap to the second (see `CandleBackend::teacher_force`).
pub(super) fn teacher_force(
    b: &mut CandleBackend,
    items: &[(&[u32], &[u32])],
) -> Result<Vec<Vec<(u32, f32)>>, BackendError> {
    check_pairs(items, b.context_length)?;
    let native = b
        .model
        .native()
        .ok_or_else(|| gen_err("the model is not on popbench's engine"))?;
    let mut seqs: Vec<Sequence> = items
        .iter()
        .map(|(p, c)| native.engine().sequence(p.len() + c.len()))
        .collect();
    let prompts: Vec<&[u32]> = items.iter().map(|(p, _)| *p).collect();
    let mut done = vec![0; items.len()];
    let mut logits = prefill(native, &mut seqs, &prompts, &mut done).map_err(gen_err)?;
    let mut out: Vec<Vec<(u32, f32)>> = items.iter().map(|_| Vec::new()).collect();
    let mut k = 0;
    loop {
        let mut live = Vec::new();
        let mut tokens = Vec::new();
        for (i, (_, cont)) in items.iter().enumerate() {
            if k < cont.len() {
                out[i].push(top_two(&logits[i]));
                if k + 1 < cont.len() {
                    live.push(i);
                    tokens.push(cont[k]);
                }
            }
        }
        if live.is_empty() {
            break;
        }
        let next = step(native, &mut seqs, &live, &tokens).map_err(gen_err)?;
        for (i, lg) in live.into_iter().zip(next) {
            logits[i] = lg;
        }
        k += 1;
    }
    Ok(out)
}
