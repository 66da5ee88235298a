//! Batches on the batched candle model: generation (through `batch::generate`'s request
//! handling) and teacher forcing.

use super::super::batch::{check_pairs, gen_err, Reply};
use super::super::{top_two, CandleBackend};
use super::{err, Batched};
use crate::backend::BackendError;
use candle_core::Tensor;
use std::time::Instant;

/// The backend's model as popbench's batched candle model (None: another model runs it).
pub fn model_of(backend: &mut CandleBackend) -> Option<&mut Batched> {
    backend.model.batched()
}

/// Prefills and decodes `prompts` together into `replies` (see `batch::generate`); returns the
/// prompt time (the batch's, shared by its requests). Prompts start from the prefix cache; the
/// sequences run (prompt and the reply tokens fed back) go into it.
pub(in crate::backend::candle) fn run(
    b: &mut CandleBackend,
    prompts: &[Vec<u32>],
    replies: &mut [Reply],
) -> Result<f64, String> {
    let stop_ids = b.stop_ids.clone();
    let model = model_of(b).ok_or("the model is not popbench's batched candle model")?;
    if prompts.is_empty() {
        return Ok(0.0);
    }
    let t0 = Instant::now();
    let longest = prompts.iter().map(Vec::len).max().unwrap_or(0);
    let most_new = replies.iter().map(|r| r.max_new).max().unwrap_or(0);
    let mut st = model
        .state(prompts.len(), longest + most_new)
        .map_err(err)?;
    let refs: Vec<&[u32]> = prompts.iter().map(Vec::as_slice).collect();
    let starts = model.cache.start(&refs);
    let first = {
        let reuse: Vec<super::Reuse<'_>> = starts
            .iter()
            .map(|s| {
                s.map(|(i, n)| {
                    let e = model.cache.entry(i);
                    (e.k.as_slice(), e.v.as_slice(), n)
                })
            })
            .collect();
        model.prefill_from(&mut st, &refs, &reuse).map_err(err)?
    };
    // What each prompt really copied: the positions before the first column computed.
    let tail = refs
        .iter()
        .zip(&starts)
        .map(|(p, s)| p.len() - s.map_or(0, |s| s.1))
        .max()
        .unwrap_or(longest);
    for p in &refs {
        let copied = (longest - tail).saturating_sub(longest - p.len());
        model.cache.count(p.len() - copied, copied);
    }
    let prompt_ms = t0.elapsed().as_secs_f64() * 1e3;
    let t1 = Instant::now();
    for (r, lg) in replies.iter_mut().zip(&first) {
        r.take(lg, &stop_ids)?;
    }
    let keep = model.cache.enabled();
    let mut done: Vec<(Vec<u32>, Vec<Tensor>, Vec<Tensor>)> = Vec::new();
    // rows[j]: the reply that row j of the state decodes.
    let mut rows: Vec<usize> = (0..prompts.len()).collect();
    loop {
        for r in replies
            .iter_mut()
            .filter(|r| r.finish.is_some() && r.generation_ms == 0.0)
        {
            r.generation_ms = t1.elapsed().as_secs_f64() * 1e3;
        }
        let live: Vec<usize> = (0..rows.len())
            .filter(|&j| replies[rows[j]].finish.is_none())
            .collect();
        if keep && live.len() < rows.len() {
            // The finished rows' sequences, before their caches are dropped: the prompt and
            // the reply tokens fed back so far (every step fed each live row one token).
            let fed = st.len - longest;
            for (j, &i) in rows.iter().enumerate() {
                if replies[i].finish.is_some() {
                    let mut tokens = prompts[i].clone();
                    tokens.extend_from_slice(&replies[i].out[..fed.min(replies[i].out.len())]);
                    let (k, v) = st.row(j).map_err(err)?;
                    if k.first().and_then(|t| t.dim(2).ok()) == Some(tokens.len()) {
                        done.push((tokens, k, v));
                    }
                }
            }
        }
        if live.is_empty() {
            break;
        }
        if live.len() < rows.len() {
            st.keep(&live).map_err(err)?;
            rows = live.iter().map(|&j| rows[j]).collect();
        }
        let tokens = rows
            .iter()
            .map(|&i| replies[i].out.last().copied())
            .collect::<Option<Vec<u32>>>()
            .ok_or("a live reply has no token")?;
        let logits = model.step(&mut st, &tokens).map_err(err)?;
        for (&i, lg) in rows.iter().zip(&logits) {
            replies[i].take(lg, &stop_ids)?;
        }
    }
    model.cache.finish(done);
    Ok(prompt_ms)
}

/// Teacher forcing of several (prompt, continuation) pairs together on the batched candle
/// model: for each pair and continuation token, the model's top token and the gap to the
/// second (see `CandleBackend::teacher_force`). Each group of up to
/// [`Batched::preferred_batch`] pairs runs as one left-padded batch, every known token in the
/// same prompt pass (the continuation is known, so nothing is decoded step by step); the
/// logits are those of the one-at-a-time path up to float rounding (tests/candle_batch.rs).
pub fn teacher_force(
    b: &mut CandleBackend,
    items: &[(&[u32], &[u32])],
) -> Result<Vec<Vec<(u32, f32)>>, BackendError> {
    check_pairs(items, b.context_length)?;
    let model = model_of(b).ok_or_else(|| gen_err("the model is not the batched candle model"))?;
    let mut out: Vec<Vec<(u32, f32)>> = items.iter().map(|_| Vec::new()).collect();
    // Pairs with a continuation, in groups.
    let todo: Vec<usize> = (0..items.len())
        .filter(|&i| !items[i].1.is_empty())
        .collect();
    for group in todo.chunks(model.preferred_batch().max(1)) {
        // The tokens run: the prompt and every continuation token but the last; logits are
        // wanted after each of the last `c` of them.
        let seqs: Vec<Vec<u32>> = group
            .iter()
            .map(|&i| {
                let (p, c) = items[i];
                let mut s = p.to_vec();
                s.extend_from_slice(&c[..c.len() - 1]);
                s
            })
            .collect();
        let longest = seqs.iter().map(Vec::len).max().unwrap_or(0);
        let most = group.iter().map(|&i| items[i].1.len()).max().unwrap_or(0);
        let b = group.len();
        let mut st = model.state(b, longest).map_err(gen_err)?;
        st.pads = seqs.iter().map(|s| longest - s.len()).collect();
        let chunk = (model.prefill_rows() / b).max(1);
        let mut results: Vec<Vec<(u32, f32)>> = vec![Vec::new(); b];
        let mut col = 0;
        while col < longest {
            let s = chunk.min(longest - col);
            let mut tokens = Vec::with_capacity(b * s);
            for (q, &pad) in seqs.iter().zip(&st.pads) {
                for c in col..col + s {
                    tokens.push(if c < pad { q[0] } else { q[c - pad] });
                }
            }
            let x = model.hidden(&mut st, &tokens, s).map_err(gen_err)?;
            model
                .each_logits(&x, col, longest - most, &mut |r, c, lg| {
                    if c + items[group[r]].1.len() >= longest {
                        results[r].push(top_two(lg));
                    }
                })
                .map_err(gen_err)?;
            col += s;
        }
        for (r, &i) in group.iter().enumerate() {
            out[i] = std::mem::take(&mut results[r]);
        }
    }
    Ok(out)
}
