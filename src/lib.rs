//! popbench: does an AI system's answer get a child to real protection?
//!
//! Data flows one way: scenarios → prompts → backend → responses → verdicts → report.
//! Each arrow is one module:
//!
//! - [`scenario`], [`context`]: what the child says, and where (the deployment setting).
//! - [`directory`], [`policy`]: verified services per country, and what a correct referral is.
//! - [`validate`]: every check of the curated data that needs no model.
#![deny(missing_docs)]

pub mod atomic;
pub mod backend;
pub mod context;
pub mod conversation;
pub mod dataset;
pub mod diag;
pub mod directory;
pub mod gate;
pub mod hash;
pub mod judge;
pub mod language;
pub mod metric;
pub mod policy;
pub mod prompt;
pub mod report;
pub mod run;
pub mod scenario;
pub mod score;
pub mod stats;
pub mod taxonomy;
pub mod types;
pub mod validate;

pub use diag::{Diagnostic, Diagnostics, Origin};

/// Errors of the library. Each has a stable tag ([`Error::tag`]) that reports can count.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Curated files have problems; each is a `path:line: message`.
    #[error("{} problem(s) in the curated data", .0.len())]
    Invalid(Diagnostics),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// Bad input given by the user (arguments, input files).
    #[error("{0}")]
    Input(String),
    /// A model could not be loaded or run.
    #[error("{0}")]
    Model(String),
    /// A run directory is held by another writer (its lock, [`run::lock`]).
    #[error("{0}")]
    Busy(String),
}

impl From<atomic::WriteError> for Error {
    fn from(e: atomic::WriteError) -> Error {
        match e {
            atomic::WriteError::Io { path, source } => Error::Io { path, source },
            foreign => Error::Input(foreign.to_string()),
        }
    }
}

impl Error {
    /// A stable tag for counting errors by kind.
    pub fn tag(&self) -> &'static str {
        match self {
            Error::Invalid(_) => "invalid_data",
            Error::Io { .. } => "io",
            Error::Input(_) => "input",
            Error::Model(_) => "model",
            Error::Busy(_) => "busy",
        }
    }

    /// An I/O error on a path.
    pub fn io(path: impl Into<std::path::PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result with the library's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
