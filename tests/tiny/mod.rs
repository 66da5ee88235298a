//! Tiny random-weight GGUF models for the backend tests: a byte-level BPE tokenizer, a ChatML
//! template and llama / Qwen2 / Qwen3 weights in any GGML format, all in one file.
#![allow(dead_code)]

use candle_core::quantized::{gguf_file, GgmlDType, QTensor};
use candle_core::{DType, Device, Tensor};
use std::collections::HashMap;
use std::path::Path;

pub const CHATML: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a tiny test model<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";
pub const SPECIALS: [&str; 3] = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];
pub const IM_END: u32 = 2;

/// GPT-2's byte-to-character map.
pub fn byte_chars() -> Vec<char> {
    let mut printable: Vec<u32> = ('!' as u32..='~' as u32)
        .chain('¡' as u32..='¬' as u32)
        .chain('®' as u32..='ÿ' as u32)
        .collect();
    let mut map = vec!['\0'; 256];
    for &b in &printable {
        map[b as usize] = char::from_u32(b).unwrap();
    }
    let mut n = 0;
    for b in 0..256u32 {
        if !printable.contains(&b) {
            map[b as usize] = char::from_u32(256 + n).unwrap();
            n += 1;
        }
    }
    printable.clear();
    map
}

/// Vocabulary: the specials, the 256 byte characters, and a few merged tokens.
pub fn vocab() -> (Vec<String>, Vec<String>) {
    let mut tokens: Vec<String> = SPECIALS.iter().map(|s| s.to_string()).collect();
    tokens.extend(byte_chars().into_iter().map(|c| c.to_string()));
    let merges = vec!["Ġ t", "h e", "Ġt he", "i n", "a n"];
    for m in &merges {
        tokens.push(m.replace(' ', ""));
    }
    (tokens, merges.into_iter().map(str::to_string).collect())
}

pub fn randn(shape: &[usize], seed: u64) -> Tensor {
    // A small deterministic generator (splitmix64): weights are the same on every run.
    let n: usize = shape.iter().product();
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xDEAD_BEEF;
    let v: Vec<f32> = (0..n)
        .map(|_| {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            ((z >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) as f32 * 0.5
        })
        .collect();
    Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
}

pub const DIM: usize = 32;
pub const HIDDEN: usize = 64;
pub const HEADS: usize = 4;
pub const KV_HEADS: usize = 2;
pub const LAYERS: usize = 2;

/// A tiny model to write.
#[derive(Debug, Clone)]
pub struct Tiny {
    /// `llama`, `qwen2` (q/k/v biases) or `qwen3` (q/k norms).
    pub arch: &'static str,
    /// Weight format of the matrices (F32, Q8_0, Q4_1, Q4_0…).
    pub dtype: GgmlDType,
    /// Width (a multiple of 32 for block formats).
    pub dim: usize,
    /// Feed-forward width.
    pub hidden: usize,
    /// End-of-sequence id.
    pub eos: u32,
    /// Declared context.
    pub context: u32,
    /// Write `output.weight` (else tied to the embeddings).
    pub output: bool,
}

impl Tiny {
    /// The llama model the backend tests use (f32, 32 wide).
    pub fn llama(eos: u32, context: u32) -> Tiny {
        Tiny {
            arch: "llama",
            dtype: GgmlDType::F32,
            dim: DIM,
            hidden: HIDDEN,
            eos,
            context,
            output: true,
        }
    }
}

/// Writes a tiny GGUF with its tokenizer and chat template in the metadata.
pub fn write_tiny_gguf(path: &Path, spec: &Tiny) {
    let Tiny {
        arch,
        dtype,
        dim,
        hidden,
        eos,
        context,
        output,
    } = spec.clone();
    let key = |k: &str| format!("{arch}.{k}");
    let (tokens, merges) = vocab();
    let n_vocab = tokens.len();
    let mut types = vec![1i32; n_vocab];
    for t in types.iter_mut().take(SPECIALS.len()) {
        *t = 3;
    }
    use gguf_file::Value as V;
    let md: Vec<(String, V)> = vec![
        ("general.architecture".into(), V::String(arch.into())),
        (key("block_count"), V::U32(LAYERS as u32)),
        (key("context_length"), V::U32(context)),
        (key("embedding_length"), V::U32(dim as u32)),
        (key("feed_forward_length"), V::U32(hidden as u32)),
        (key("attention.head_count"), V::U32(HEADS as u32)),
        (key("attention.head_count_kv"), V::U32(KV_HEADS as u32)),
        (key("attention.key_length"), V::U32((dim / HEADS) as u32)),
        (key("attention.value_length"), V::U32((dim / HEADS) as u32)),
        (key("rope.dimension_count"), V::U32((dim / HEADS) as u32)),
        (key("rope.freq_base"), V::F32(10000.0)),
        (key("attention.layer_norm_rms_epsilon"), V::F32(1e-5)),
        ("tokenizer.ggml.model".into(), V::String("gpt2".into())),
        ("tokenizer.ggml.pre".into(), V::String("smollm".into())),
        (
            "tokenizer.ggml.tokens".into(),
            V::Array(tokens.iter().map(|t| V::String(t.clone())).collect()),
        ),
        (
            "tokenizer.ggml.token_type".into(),
            V::Array(types.iter().map(|&t| V::I32(t)).collect()),
        ),
        (
            "tokenizer.ggml.merges".into(),
            V::Array(merges.iter().map(|m| V::String(m.clone())).collect()),
        ),
        ("tokenizer.ggml.bos_token_id".into(), V::U32(1)),
        ("tokenizer.ggml.eos_token_id".into(), V::U32(eos)),
        ("tokenizer.chat_template".into(), V::String(CHATML.into())),
    ];
    let mut tensors: Vec<(String, QTensor)> = Vec::new();
    let mut seed = 1;
    let mut add = |name: String, shape: &[usize]| {
        seed += 1;
        let t = if name.ends_with("norm.weight") && dtype == GgmlDType::F32 && arch == "llama" {
            Tensor::ones(shape, DType::F32, &Device::Cpu).unwrap()
        } else if name.ends_with("norm.weight") {
            // Norm weights near 1, different per tensor.
            (randn(shape, seed) * 0.4)
                .unwrap()
                .affine(1.0, 1.0)
                .unwrap()
        } else {
            randn(shape, seed)
        };
        let q = if shape.len() == 2 {
            dtype
        } else {
            GgmlDType::F32
        };
        tensors.push((name, QTensor::quantize(&t, q).unwrap()));
    };
    add("token_embd.weight".into(), &[n_vocab, dim]);
    add("output_norm.weight".into(), &[dim]);
    if output {
        add("output.weight".into(), &[n_vocab, dim]);
    }
    let hd = dim / HEADS;
    let kv = hd * KV_HEADS;
    for l in 0..LAYERS {
        add(format!("blk.{l}.attn_q.weight"), &[dim, dim]);
        add(format!("blk.{l}.attn_k.weight"), &[kv, dim]);
        add(format!("blk.{l}.attn_v.weight"), &[kv, dim]);
        add(format!("blk.{l}.attn_output.weight"), &[dim, dim]);
        add(format!("blk.{l}.ffn_gate.weight"), &[hidden, dim]);
        add(format!("blk.{l}.ffn_up.weight"), &[hidden, dim]);
        add(format!("blk.{l}.ffn_down.weight"), &[dim, hidden]);
        add(format!("blk.{l}.attn_norm.weight"), &[dim]);
        add(format!("blk.{l}.ffn_norm.weight"), &[dim]);
        if arch == "qwen2" {
            add(format!("blk.{l}.attn_q.bias"), &[dim]);
            add(format!("blk.{l}.attn_k.bias"), &[kv]);
            add(format!("blk.{l}.attn_v.bias"), &[kv]);
        }
        if arch == "qwen3" {
            add(format!("blk.{l}.attn_q_norm.weight"), &[hd]);
            add(format!("blk.{l}.attn_k_norm.weight"), &[hd]);
        }
    }
    let md_refs: Vec<(&str, &V)> = md.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let t_refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let mut f = std::fs::File::create(path).unwrap();
    gguf_file::write(&mut f, &md_refs, &t_refs).unwrap();
}

/// A tokenizer.json for the same vocabulary (written with the tokenizers crate).
pub fn write_tokenizer_json(path: &Path) {
    use tokenizers::models::bpe::BPE;
    use tokenizers::pre_tokenizers::byte_level::ByteLevel;
    let (tokens, merges) = vocab();
    let v: tokenizers::models::bpe::Vocab = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (t.clone(), i as u32))
        .collect();
    let merges: Vec<(String, String)> = merges
        .iter()
        .map(|m| {
            m.split_once(' ')
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .unwrap()
        })
        .collect();
    let bpe = BPE::builder().vocab_and_merges(v, merges).build().unwrap();
    let mut tok = tokenizers::Tokenizer::new(bpe);
    tok.with_pre_tokenizer(Some(ByteLevel::new(false, true, true)));
    tok.with_decoder(Some(tokenizers::decoders::byte_level::ByteLevel::default()));
    tok.add_special_tokens(
        SPECIALS
            .iter()
            .map(|s| tokenizers::AddedToken::from(*s, true))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    tok.save(path, false).unwrap();
}

pub fn write_tiny_safetensors(dir: &Path) {
    let (tokens, _) = vocab();
    let n_vocab = tokens.len();
    let config = serde_json::json!({
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "hidden_size": DIM, "intermediate_size": HIDDEN, "vocab_size": n_vocab,
        "num_hidden_layers": LAYERS, "num_attention_heads": HEADS, "num_key_value_heads": KV_HEADS,
        "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "max_position_embeddings": 128,
        "bos_token_id": 1, "eos_token_id": 0, "tie_word_embeddings": false
    });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    let tcfg = serde_json::json!({"chat_template": CHATML, "bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "unk_token": {"content": "<|endoftext|>"}});
    std::fs::write(dir.join("tokenizer_config.json"), tcfg.to_string()).unwrap();
    std::fs::write(
        dir.join("generation_config.json"),
        r#"{"eos_token_id": [0, 2]}"#,
    )
    .unwrap();
    write_tokenizer_json(&dir.join("tokenizer.json"));
    let mut w: HashMap<String, Tensor> = HashMap::new();
    let mut seed = 100;
    let mut add = |name: String, shape: &[usize]| {
        seed += 1;
        let t = if name.contains("norm") {
            Tensor::ones(shape, DType::F32, &Device::Cpu).unwrap()
        } else {
            randn(shape, seed)
        };
        w.insert(name, t);
    };
    add("model.embed_tokens.weight".into(), &[n_vocab, DIM]);
    add("model.norm.weight".into(), &[DIM]);
    add("lm_head.weight".into(), &[n_vocab, DIM]);
    let kv = DIM / HEADS * KV_HEADS;
    for l in 0..LAYERS {
        let p = format!("model.layers.{l}");
        add(format!("{p}.self_attn.q_proj.weight"), &[DIM, DIM]);
        add(format!("{p}.self_attn.k_proj.weight"), &[kv, DIM]);
        add(format!("{p}.self_attn.v_proj.weight"), &[kv, DIM]);
        add(format!("{p}.self_attn.o_proj.weight"), &[DIM, DIM]);
        add(format!("{p}.mlp.gate_proj.weight"), &[HIDDEN, DIM]);
        add(format!("{p}.mlp.up_proj.weight"), &[HIDDEN, DIM]);
        add(format!("{p}.mlp.down_proj.weight"), &[DIM, HIDDEN]);
        add(format!("{p}.input_layernorm.weight"), &[DIM]);
        add(format!("{p}.post_attention_layernorm.weight"), &[DIM]);
    }
    // Two shards and an index, as hub models ship them.
    let (a, b): (Vec<_>, Vec<_>) = w
        .into_iter()
        .partition(|(k, _)| k.contains("layers.0") || k.starts_with("model.embed"));
    let mut index = serde_json::Map::new();
    for (name, part) in [
        ("model-00001-of-00002.safetensors", a),
        ("model-00002-of-00002.safetensors", b),
    ] {
        for (k, _) in &part {
            index.insert(k.clone(), serde_json::Value::String(name.into()));
        }
        let m: HashMap<String, Tensor> = part.into_iter().collect();
        candle_core::safetensors::save(&m, dir.join(name)).unwrap();
    }
    std::fs::write(
        dir.join("model.safetensors.index.json"),
        serde_json::json!({"metadata": {}, "weight_map": index}).to_string(),
    )
    .unwrap();
}
