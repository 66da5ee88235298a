//! popbench's CPU inference engine for llama-family decoders (llama, mistral, Qwen2, Qwen3).
//!
//! - [`quant`]: the GGML block formats it multiplies natively (Q4_0, Q4_1, Q8_0, Q4_K, Q6_K,
//!   F32) and the 8-bit activation blocks;
//! - [`kernels`]: AVX-512 VNNI and AVX2 dot products (a portable fallback elsewhere), weight
//!   rows against a tile of activation rows, the level picked at run time;
//! - [`packed`]: the interleaved weight layout the AVX-512 kernels (and AVX2's for Q4_0/Q4_1/Q8_0)
//!   read, made at load;
//! - [`pages`]: weight and KV cache bytes on 2 MiB pages where the kernel grants them;
//! - [`amx`]: whether AMX tiles are advertised and granted (asked of the kernel);
//! - [`matmul`]: weight matrices and the parallel, cache-blocked product;
//! - [`pool`]: a spinning thread pool, one job at a time, whose caller runs the shares of
//!   workers that have not started yet;
//! - [`kv`]: a preallocated key/value cache per sequence;
//! - [`engine`]: the batched forward pass (threads split weight rows, or sequences: [`Split`]).
//!
//! A batch mixes prompt chunks and single decode tokens of any number of sequences; each row is
//! computed independently of the others, so batched, chunked, threaded and prefix-reusing runs
//! give the same bits as one sequence at a time. At [`kernels::Isa::Avx512`] the bits are also
//! those of the portable kernels, and at [`kernels::Isa::Avx2`] for Q4_0/Q4_1/Q8_0; AVX2
//! multiplies K-quant rows with activations quantized per 256 values ([`quant::BlockQ8K`], as
//! llama.cpp and candle do) instead of 32, and sums them in another order.
#![deny(missing_docs)]

pub mod amx;
pub mod attention;
pub mod engine;
pub mod f16;
pub mod kernels;
pub mod kv;
pub mod matmul;
pub mod model;
pub mod packed;
pub mod pages;
pub mod pool;
pub mod quant;

pub use engine::{Engine, EngineError, Split, Step};
pub use kv::Sequence;
pub use matmul::QMatrix;
pub use model::{Config, Layer, Rope, Weights};
pub use quant::QType;
