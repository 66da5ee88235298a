//! popbench's CPU inference engine for llama-family decoders (llama, mistral, Qwen2, Qwen3).
//!
//! - [`quant`]: the GGML block formats it multiplies natively (Q4_0, Q4_1, Q8_0, F32) and the
//!   8-bit activation blocks;
//! - [`kernels`]: AVX2 dot products (a portable fallback elsewhere), one weight row against a
//!   tile of activation rows;
//! - [`matmul`]: weight matrices and the parallel product;
//! - [`pool`]: a spinning thread pool, one job at a time;
//! - [`kv`]: a preallocated key/value cache per sequence;
//! - [`engine`]: the batched forward pass.
//!
//! A batch mixes prompt chunks and single decode tokens of any number of sequences; each row is
//! computed independently of the others, so batched, chunked and prefix-reusing runs give the
//! same bits as one sequence at a time.
#![deny(missing_docs)]

pub mod attention;
pub mod engine;
pub mod f16;
pub mod kernels;
pub mod kv;
pub mod matmul;
pub mod model;
pub mod pool;
pub mod quant;

pub use engine::{Engine, EngineError, Step};
pub use kv::Sequence;
pub use matmul::QMatrix;
pub use model::{Config, Layer, Rope, Weights};
pub use quant::QType;
