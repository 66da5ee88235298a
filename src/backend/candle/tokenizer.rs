//! Tokenizers for chat prompts: from a `tokenizer.json`, or rebuilt from GGUF metadata
//! (`tokenizer.ggml.*`) the way llama.cpp reads it.
//!
//! Prompts are encoded so that text inside a message can never become a control token: the
//! rendered prompt is split at the special tokens the *template* wrote, and every piece of
//! text between them is encoded with special-token parsing off (see [`ChatTokenizer::neutralize`]).

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use candle_core::quantized::gguf_file;
use std::collections::HashMap;
use tokenizers::decoders::byte_fallback::ByteFallback;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::decoders::fuse::Fuse;
use tokenizers::decoders::sequence::Sequence as DecoderSequence;
use tokenizers::decoders::strip::Strip;
use tokenizers::decoders::DecoderWrapper;
use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::normalizers::NormalizerWrapper;
use tokenizers::normalizers::{Prepend, Replace};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::{AddedToken, SplitDelimiterBehavior, Tokenizer};

/// A character inserted into message text wherever the text could spell (part of) a special
/// token; it splits the would-be token and is removed before encoding. U+FDD0 is a Unicode
/// noncharacter, so real text does not contain it (text that does is refused).
pub const SENTINEL: char = '\u{FDD0}';

/// A special (control) token that the chat template may write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecialToken {
    /// The token's text (`<|im_end|>`).
    pub content: String,
    /// Its id.
    pub id: u32,
    /// Whitespace before it is swallowed (tokenizer.json `lstrip`).
    pub lstrip: bool,
    /// Whitespace after it is swallowed (tokenizer.json `rstrip`).
    pub rstrip: bool,
}

/// A tokenizer that encodes rendered chat prompts safely and decodes completions.
#[derive(Clone)]
pub struct ChatTokenizer {
    inner: Tokenizer,
    specials: Vec<SpecialToken>,
    matcher: Option<AhoCorasick>,
    by_content: HashMap<String, u32>,
    source: String,
}

impl std::fmt::Debug for ChatTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatTokenizer")
            .field("source", &self.source)
            .field("specials", &self.specials.len())
            .finish()
    }
}

/// Tokenizer errors are plain messages; the backend wraps them.
pub type TokResult<T> = Result<T, String>;

impl ChatTokenizer {
    /// Wraps a `tokenizers` tokenizer; `specials` are the control tokens the template may write.
    pub fn new(
        mut inner: Tokenizer,
        specials: Vec<SpecialToken>,
        source: impl Into<String>,
    ) -> TokResult<ChatTokenizer> {
        // Message text is encoded with special-token parsing off, always.
        inner.set_encode_special_tokens(true);
        let matcher = if specials.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(specials.iter().map(|s| s.content.as_str()))
                    .map_err(|e| format!("special-token matcher: {e}"))?,
            )
        };
        let by_content = specials.iter().map(|s| (s.content.clone(), s.id)).collect();
        Ok(ChatTokenizer {
            inner,
            specials,
            matcher,
            by_content,
            source: source.into(),
        })
    }

    /// Loads `tokenizer.json`; the special tokens are its added tokens marked `special`.
    pub fn from_tokenizer_json(path: &std::path::Path) -> TokResult<ChatTokenizer> {
        let inner = Tokenizer::from_file(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut specials: Vec<SpecialToken> = inner
            .get_added_tokens_decoder()
            .into_iter()
            .filter(|(_, t)| t.special)
            .map(|(id, t)| SpecialToken {
                content: t.content.clone(),
                id,
                lstrip: t.lstrip,
                rstrip: t.rstrip,
            })
            .collect();
        specials.sort_by_key(|s| s.id);
        ChatTokenizer::new(inner, specials, "tokenizer.json")
    }

    /// Rebuilds the tokenizer from GGUF metadata (`tokenizer.ggml.*`).
    pub fn from_gguf(ct: &gguf_file::Content) -> TokResult<ChatTokenizer> {
        let md = &ct.metadata;
        let model = md_str(md, "tokenizer.ggml.model")?;
        let tokens = md_strings(md, "tokenizer.ggml.tokens")?;
        let types: Vec<i64> = match md.get("tokenizer.ggml.token_type") {
            Some(v) => v
                .to_vec()
                .map_err(|e| e.to_string())?
                .iter()
                .map(value_i64)
                .collect::<TokResult<_>>()?,
            None => vec![1; tokens.len()],
        };
        if types.len() != tokens.len() {
            return Err(
                "tokenizer.ggml.token_type and tokenizer.ggml.tokens differ in length".into(),
            );
        }
        let (mut inner, source) = match model.as_str() {
            "gpt2" => {
                let merges = md_strings(md, "tokenizer.ggml.merges")?;
                let pre = md_str(md, "tokenizer.ggml.pre").unwrap_or_else(|_| "default".into());
                build_gpt2(&tokens, &merges, &pre)?
            }
            "llama" => {
                let scores: Vec<f32> = match md.get("tokenizer.ggml.scores") {
                    Some(v) => v
                        .to_vec()
                        .map_err(|e| e.to_string())?
                        .iter()
                        .map(|x| x.to_f32().map_err(|e| e.to_string()))
                        .collect::<TokResult<_>>()?,
                    None => return Err(
                        "tokenizer.ggml.scores is missing for a SentencePiece (llama) vocabulary"
                            .into(),
                    ),
                };
                let add_prefix = md
                    .get("tokenizer.ggml.add_space_prefix")
                    .and_then(|v| v.to_bool().ok())
                    .unwrap_or(true);
                build_spm(&tokens, &scores, &types, add_prefix)?
            }
            other => {
                return Err(format!(
                    "GGUF tokenizer model `{other}` is not supported (gpt2 and llama are)"
                ))
            }
        };
        // Control tokens (type 3) are special; user-defined tokens (type 4) are added as
        // ordinary added tokens, matched in text as llama.cpp does.
        let mut specials = Vec::new();
        let mut added = Vec::new();
        for (id, (t, ty)) in tokens.iter().zip(&types).enumerate() {
            match ty {
                3 => {
                    specials.push(SpecialToken {
                        content: t.clone(),
                        id: id as u32,
                        lstrip: false,
                        rstrip: false,
                    });
                    added.push(AddedToken::from(t.clone(), true).normalized(false));
                }
                4 => added.push(AddedToken::from(t.clone(), false).normalized(false)),
                _ => {}
            }
        }
        inner
            .add_special_tokens(
                added
                    .iter()
                    .filter(|t| t.special)
                    .cloned()
                    .collect::<Vec<_>>(),
            )
            .map_err(|e| e.to_string())?;
        inner
            .add_tokens(
                added
                    .iter()
                    .filter(|t| !t.special)
                    .cloned()
                    .collect::<Vec<_>>(),
            )
            .map_err(|e| e.to_string())?;
        ChatTokenizer::new(inner, specials, source)
    }

    /// Where the tokenizer came from (`gguf-metadata (gpt2, pre=smollm)`, `tokenizer.json`).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The underlying `tokenizers` tokenizer (special-token parsing is off).
    pub fn inner(&self) -> &Tokenizer {
        &self.inner
    }

    /// The special tokens.
    pub fn specials(&self) -> &[SpecialToken] {
        &self.specials
    }

    /// The id of a special token by its text.
    pub fn special_id(&self, content: &str) -> Option<u32> {
        self.by_content.get(content).copied()
    }

    /// The id of any token by its text.
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.by_content
            .get(token)
            .copied()
            .or_else(|| self.inner.token_to_id(token))
    }

    /// The text of a token id.
    pub fn id_to_token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    /// Vocabulary size including added tokens.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// Encodes plain text: special tokens are never parsed, no BOS/EOS is added.
    pub fn encode_text(&self, text: &str) -> TokResult<Vec<u32>> {
        if text.is_empty() {
            return Ok(Vec::new());
        }
        let enc = self
            .inner
            .encode(text, false)
            .map_err(|e| format!("encode: {e}"))?;
        Ok(enc.get_ids().to_vec())
    }

    /// Makes message text safe to place into a template: wherever it spells a special token,
    /// or could complete one together with the template text around it, a [`SENTINEL`] is
    /// inserted. Text that already holds a sentinel is refused.
    pub fn neutralize(&self, text: &str) -> TokResult<String> {
        if text.contains(SENTINEL) {
            return Err(
                "message text contains U+FDD0, a Unicode noncharacter popbench reserves".into(),
            );
        }
        if self.specials.is_empty() {
            return Ok(text.to_string());
        }
        // Byte positions (at char boundaries) after which a sentinel goes.
        let mut cuts: Vec<usize> = Vec::new();
        let first_char_end =
            |s: &str, at: usize| at + s[at..].chars().next().map(char::len_utf8).unwrap_or(0);
        for sp in &self.specials {
            let c = sp.content.as_str();
            for (pos, _) in text.match_indices(c) {
                cuts.push(first_char_end(text, pos));
            }
            // The text ends with a proper prefix of the token: the template could finish it.
            for (i, _) in c.char_indices().skip(1) {
                if text.ends_with(&c[..i]) {
                    cuts.push(first_char_end(text, text.len() - i));
                }
            }
            // The text starts with a proper suffix of the token: the template could start it.
            for (i, _) in c.char_indices().skip(1) {
                let suffix = &c[i..];
                if text.starts_with(suffix) {
                    cuts.push(0);
                }
            }
        }
        if cuts.is_empty() {
            return Ok(text.to_string());
        }
        cuts.sort_unstable();
        cuts.dedup();
        let mut out = String::with_capacity(text.len() + cuts.len() * 3);
        let mut last = 0;
        for c in cuts {
            out.push_str(&text[last..c]);
            out.push(SENTINEL);
            last = c;
        }
        out.push_str(&text[last..]);
        Ok(out)
    }

    /// Encodes a rendered prompt: special tokens the template wrote become their ids, and the
    /// text between them is encoded without special-token parsing, sentinels removed.
    pub fn encode_prompt(&self, rendered: &str) -> TokResult<Vec<u32>> {
        let mut ids = Vec::new();
        let Some(matcher) = &self.matcher else {
            return self.encode_text(&rendered.replace(SENTINEL, ""));
        };
        let mut pending = String::new();
        let mut last = 0;
        let mut strip_next_ws = false;
        for m in matcher.find_iter(rendered) {
            let sp = &self.specials[m.pattern().as_usize()];
            let mut chunk = &rendered[last..m.start()];
            if strip_next_ws {
                chunk = chunk.trim_start();
            }
            if sp.lstrip {
                chunk = chunk.trim_end();
            }
            pending.push_str(chunk);
            ids.extend(self.encode_text(&pending.replace(SENTINEL, ""))?);
            pending.clear();
            ids.push(sp.id);
            strip_next_ws = sp.rstrip;
            last = m.end();
        }
        let mut rest = &rendered[last..];
        if strip_next_ws {
            rest = rest.trim_start();
        }
        ids.extend(self.encode_text(&rest.replace(SENTINEL, ""))?);
        Ok(ids)
    }

    /// Decodes ids to text, skipping special tokens.
    pub fn decode(&self, ids: &[u32]) -> TokResult<String> {
        self.inner
            .decode(ids, true)
            .map_err(|e| format!("decode: {e}"))
    }

    /// A streaming decoder: text comes out only once it forms whole characters.
    pub fn stream(&self) -> TextStream<'_> {
        TextStream {
            inner: self.inner.decode_stream(true),
        }
    }
}

/// Incremental decoding (no U+FFFD at split characters).
pub struct TextStream<'a> {
    inner: tokenizers::tokenizer::DecodeStream<
        'a,
        tokenizers::ModelWrapper,
        NormalizerWrapper,
        PreTokenizerWrapper,
        tokenizers::PostProcessorWrapper,
        DecoderWrapper,
    >,
}

impl TextStream<'_> {
    /// Feeds one token; returns the text it completes, if any.
    pub fn step(&mut self, id: u32) -> TokResult<Option<String>> {
        self.inner.step(id).map_err(|e| format!("decode: {e}"))
    }
}

fn md_str(md: &HashMap<String, gguf_file::Value>, key: &str) -> TokResult<String> {
    md.get(key)
        .ok_or_else(|| format!("GGUF metadata has no `{key}`"))?
        .to_string()
        .cloned()
        .map_err(|e| format!("`{key}`: {e}"))
}

fn md_strings(md: &HashMap<String, gguf_file::Value>, key: &str) -> TokResult<Vec<String>> {
    let v = md
        .get(key)
        .ok_or_else(|| format!("GGUF metadata has no `{key}`"))?;
    v.to_vec()
        .map_err(|e| format!("`{key}`: {e}"))?
        .iter()
        .map(|x| x.to_string().cloned().map_err(|e| format!("`{key}`: {e}")))
        .collect()
}

fn value_i64(v: &gguf_file::Value) -> TokResult<i64> {
    use gguf_file::Value as V;
    Ok(match v {
        V::U8(x) => *x as i64,
        V::I8(x) => *x as i64,
        V::U16(x) => *x as i64,
        V::I16(x) => *x as i64,
        V::U32(x) => *x as i64,
        V::I32(x) => *x as i64,
        V::U64(x) => *x as i64,
        V::I64(x) => *x,
        other => return Err(format!("expected an integer, got {other:?}")),
    })
}

/// The regex llama.cpp uses for Llama 3 style BPE (`llama3`, `llama-bpe`, `smaug-bpe`…).
const LLAMA3_REGEX: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// The regex llama.cpp uses for Qwen2/2.5/3 (`qwen2`): digits one by one.
const QWEN2_REGEX: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// Mistral's Tekken regex (`tekken`).
const TEKKEN_REGEX: &str = r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+";

fn split_then_bytes(regex: &str) -> TokResult<PreTokenizerWrapper> {
    let split = Split::new(
        SplitPattern::Regex(regex.into()),
        SplitDelimiterBehavior::Isolated,
        false,
    )
    .map_err(|e| e.to_string())?;
    Ok(PreTokenizerWrapper::Sequence(Sequence::new(vec![
        PreTokenizerWrapper::Split(split),
        PreTokenizerWrapper::ByteLevel(ByteLevel::new(false, false, false)),
    ])))
}

/// The pre-tokenizer a GGUF `tokenizer.ggml.pre` value calls for (as llama.cpp maps it), and
/// whether the value is known.
fn pre_tokenizer_for(pre: &str) -> TokResult<(PreTokenizerWrapper, bool)> {
    let gpt2 = || PreTokenizerWrapper::ByteLevel(ByteLevel::new(false, false, true));
    Ok(match pre {
        "llama3" | "llama-v3" | "llama-bpe" | "smaug-bpe" | "falcon3" | "pixtral" | "dbrx" => {
            (split_then_bytes(LLAMA3_REGEX)?, true)
        }
        "qwen2" | "deepseek-r1-qwen" | "megrez" => (split_then_bytes(QWEN2_REGEX)?, true),
        "tekken" => (split_then_bytes(TEKKEN_REGEX)?, true),
        // StarCoder-style: every digit alone, then GPT-2 byte-level rules.
        "smollm" | "starcoder" | "refact" | "command-r" | "codeshell" | "exaone" => (
            PreTokenizerWrapper::Sequence(Sequence::new(vec![
                PreTokenizerWrapper::Digits(Digits::new(true)),
                gpt2(),
            ])),
            true,
        ),
        "gpt-2" | "gpt2" | "default" | "phi-2" | "jina-es" | "jina-de" | "olmo" | "mpt"
        | "stablelm2" | "poro-chat" | "jais" => (gpt2(), true),
        _ => (gpt2(), false),
    })
}

fn build_gpt2(tokens: &[String], merges: &[String], pre: &str) -> TokResult<(Tokenizer, String)> {
    let vocab: Vocab = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (t.clone(), i as u32))
        .collect();
    let merges: Vec<(String, String)> = merges
        .iter()
        .map(|m| {
            m.split_once(' ')
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .ok_or_else(|| format!("bad merge `{m}`"))
        })
        .collect::<TokResult<_>>()?;
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .build()
        .map_err(|e| format!("BPE: {e}"))?;
    let mut tok = Tokenizer::new(bpe);
    let (pt, known) = pre_tokenizer_for(pre)?;
    tok.with_pre_tokenizer(Some(pt));
    tok.with_decoder(Some(DecoderWrapper::ByteLevel(ByteLevelDecoder::default())));
    let source = if known {
        format!("gguf-metadata (gpt2, pre={pre})")
    } else {
        format!("gguf-metadata (gpt2, pre={pre} unknown: GPT-2 rules used)")
    };
    Ok((tok, source))
}

/// A SentencePiece-BPE vocabulary (GGUF `llama` model): merges are rebuilt from the scores,
/// as Hugging Face's converter does, with byte fallback.
fn build_spm(
    tokens: &[String],
    scores: &[f32],
    types: &[i64],
    add_prefix: bool,
) -> TokResult<(Tokenizer, String)> {
    if scores.len() != tokens.len() {
        return Err("tokenizer.ggml.scores and tokenizer.ggml.tokens differ in length".into());
    }
    let vocab: HashMap<String, u32> = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (t.clone(), i as u32))
        .collect();
    let mut merges: Vec<(f32, u32, u32, String, String)> = Vec::new();
    for (id, t) in tokens.iter().enumerate() {
        if types[id] != 1 || t.chars().count() < 2 {
            continue;
        }
        for (i, _) in t.char_indices().skip(1) {
            let (a, b) = t.split_at(i);
            if let (Some(&ia), Some(&ib)) = (vocab.get(a), vocab.get(b)) {
                if types[ia as usize] == 1 && types[ib as usize] == 1 {
                    merges.push((scores[id], ia, ib, a.to_string(), b.to_string()));
                }
            }
        }
    }
    merges.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)).then(x.2.cmp(&y.2)));
    let merges: Vec<(String, String)> = merges.into_iter().map(|m| (m.3, m.4)).collect();
    let unk = tokens
        .iter()
        .zip(types)
        .find(|(_, &ty)| ty == 2)
        .map(|(t, _)| t.clone());
    let vocab: Vocab = vocab.into_iter().collect();
    let mut b = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .byte_fallback(true)
        .fuse_unk(true);
    if let Some(u) = unk {
        b = b.unk_token(u);
    }
    let bpe = b.build().map_err(|e| format!("BPE: {e}"))?;
    let mut tok = Tokenizer::new(bpe);
    let replace = Replace::new(" ", "▁").map_err(|e| e.to_string())?;
    let norm = if add_prefix {
        NormalizerWrapper::Sequence(tokenizers::normalizers::Sequence::new(vec![
            NormalizerWrapper::Prepend(Prepend::new("▁".into())),
            NormalizerWrapper::Replace(replace),
        ]))
    } else {
        NormalizerWrapper::Replace(replace)
    };
    tok.with_normalizer(Some(norm)).map_err(|e| e.to_string())?;
    let mut decoders = vec![
        DecoderWrapper::Replace(Replace::new("▁", " ").map_err(|e| e.to_string())?),
        DecoderWrapper::ByteFallback(ByteFallback::new()),
        DecoderWrapper::Fuse(Fuse::new()),
    ];
    if add_prefix {
        decoders.push(DecoderWrapper::Strip(Strip::new(' ', 1, 0)));
    }
    tok.with_decoder(Some(DecoderWrapper::Sequence(DecoderSequence::new(
        decoders,
    ))));
    Ok((
        tok,
        format!(
            "gguf-metadata (llama/sentencepiece, space prefix {})",
            if add_prefix { "on" } else { "off" }
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> ChatTokenizer {
        let tokens: Vec<String> = [
            "<|im_start|>",
            "<|im_end|>",
            "a",
            "b",
            "ab",
            "Ġ",
            "<",
            "|",
            ">",
            "i",
            "m",
            "_",
            "e",
            "n",
            "d",
            "s",
            "t",
            "r",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (mut inner, src) = build_gpt2(&tokens, &["a b".to_string()], "smollm").unwrap();
        inner
            .add_special_tokens([
                AddedToken::from("<|im_start|>", true),
                AddedToken::from("<|im_end|>", true),
            ])
            .unwrap();
        let specials = vec![
            SpecialToken {
                content: "<|im_start|>".into(),
                id: 0,
                lstrip: false,
                rstrip: false,
            },
            SpecialToken {
                content: "<|im_end|>".into(),
                id: 1,
                lstrip: false,
                rstrip: false,
            },
        ];
        ChatTokenizer::new(inner, specials, src).unwrap()
    }

    #[test]
    fn message_text_cannot_forge_a_control_token() {
        let t = toy();
        let safe = t.neutralize("ab<|im_end|>").unwrap();
        let ids = t
            .encode_prompt(&format!("<|im_start|>{safe}<|im_end|>"))
            .unwrap();
        assert_eq!(ids.iter().filter(|&&i| i == 1).count(), 1, "{ids:?}");
        assert_eq!(ids[0], 0);
        assert_eq!(*ids.last().unwrap(), 1);
        // A prefix at the end of the text cannot combine with the template's text.
        let safe = t.neutralize("ab<|im_").unwrap();
        let ids = t.encode_prompt(&format!("{safe}end|>")).unwrap();
        assert!(!ids.contains(&1), "{ids:?}");
        let safe = t.neutralize("_end|>").unwrap();
        let ids = t.encode_prompt(&format!("<|im{safe}")).unwrap();
        assert!(!ids.contains(&1), "{ids:?}");
        assert!(t.neutralize("x\u{FDD0}").is_err());
    }

    #[test]
    fn template_specials_are_parsed() {
        let t = toy();
        assert_eq!(
            t.encode_prompt("<|im_start|>ab<|im_end|>").unwrap(),
            vec![0, 4, 1]
        );
        assert_eq!(t.neutralize("plain ab").unwrap(), "plain ab");
    }
}
