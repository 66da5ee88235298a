//! Model specs as written on the command line.

use std::path::PathBuf;

/// A parsed model spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSpec {
    /// `gguf:PATH` — a local GGUF file.
    Gguf(PathBuf),
    /// `safetensors:DIR` — a local folder with config.json, tokenizer files and safetensors.
    Safetensors(PathBuf),
    /// `hf:ORG/REPO[@REV][:FILE]` — from the Hugging Face hub or its local cache.
    Hf {
        /// `ORG/REPO`.
        repo: String,
        /// Revision (branch, tag or commit); default `main`.
        revision: Option<String>,
        /// A file in the repo (a GGUF); none means a safetensors model.
        file: Option<String>,
    },
    /// A registry alias (`smollm2-135m-instruct`).
    Alias(String),
    /// `replay:PATH` — responses produced elsewhere (JSONL or CSV).
    Replay(PathBuf),
    /// `openai:URL#MODEL` — an OpenAI-compatible chat-completions server.
    OpenAi {
        /// Base URL (`http://localhost:8000/v1`).
        url: String,
        /// Model name to send.
        model: String,
    },
}

impl ModelSpec {
    /// Parses a spec; an error says what shape was expected.
    pub fn parse(s: &str) -> Result<ModelSpec, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("empty model spec".into());
        }
        if let Some(p) = s.strip_prefix("gguf:") {
            return non_empty(p, "gguf:PATH").map(|p| ModelSpec::Gguf(PathBuf::from(p)));
        }
        if let Some(p) = s.strip_prefix("safetensors:") {
            return non_empty(p, "safetensors:DIR")
                .map(|p| ModelSpec::Safetensors(PathBuf::from(p)));
        }
        if let Some(p) = s.strip_prefix("replay:") {
            return non_empty(p, "replay:PATH").map(|p| ModelSpec::Replay(PathBuf::from(p)));
        }
        if let Some(rest) = s.strip_prefix("openai:") {
            let (url, model) = rest
                .rsplit_once('#')
                .ok_or_else(|| format!("`{s}`: expected openai:URL#MODEL"))?;
            if !(url.starts_with("http://") || url.starts_with("https://")) || model.is_empty() {
                return Err(format!(
                    "`{s}`: expected openai:URL#MODEL with an http(s) URL and a model name"
                ));
            }
            return Ok(ModelSpec::OpenAi {
                url: url.trim_end_matches('/').to_string(),
                model: model.to_string(),
            });
        }
        if let Some(rest) = s.strip_prefix("hf:") {
            let (repo_rev, file) = match rest.split_once(':') {
                Some((a, f)) if !f.is_empty() => (a, Some(f.to_string())),
                Some(_) => return Err(format!("`{s}`: empty file after `:`")),
                None => (rest, None),
            };
            let (repo, revision) = match repo_rev.split_once('@') {
                Some((r, v)) if !v.is_empty() => (r, Some(v.to_string())),
                Some(_) => return Err(format!("`{s}`: empty revision after `@`")),
                None => (repo_rev, None),
            };
            let parts: Vec<&str> = repo.split('/').collect();
            if parts.len() != 2 || parts.iter().any(|p| p.is_empty()) {
                return Err(format!("`{s}`: expected hf:ORG/REPO[@REV][:FILE]"));
            }
            return Ok(ModelSpec::Hf {
                repo: repo.to_string(),
                revision,
                file,
            });
        }
        if s.ends_with(".gguf") {
            return Ok(ModelSpec::Gguf(PathBuf::from(s)));
        }
        if s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        {
            return Ok(ModelSpec::Alias(s.to_string()));
        }
        Err(format!("`{s}` is not a model spec: use gguf:PATH, safetensors:DIR, hf:ORG/REPO[@REV][:FILE], an alias, replay:PATH or openai:URL#MODEL"))
    }

    /// Checks what can be checked before any model loads: a local file or folder exists, an
    /// alias is known. (A hub repository or a server is only reached when the model opens.)
    pub fn check(&self) -> Result<(), String> {
        match self {
            ModelSpec::Gguf(p) | ModelSpec::Replay(p) if !p.is_file() => {
                Err(format!("{}: no such file", p.display()))
            }
            ModelSpec::Safetensors(p) if !p.is_dir() => {
                Err(format!("{}: no such folder", p.display()))
            }
            ModelSpec::Alias(a) if super::registry::lookup(a).is_none() => Err(format!(
                "`{a}` is neither a known alias ({}) nor a spec (gguf:PATH, safetensors:DIR, hf:ORG/REPO[@REV][:FILE], replay:PATH, openai:URL#MODEL)",
                super::registry::ALIASES
                    .iter()
                    .map(|a| a.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            _ => Ok(()),
        }
    }

    /// A short name for run directories.
    pub fn short_name(&self) -> String {
        let raw = match self {
            ModelSpec::Gguf(p) | ModelSpec::Safetensors(p) | ModelSpec::Replay(p) => p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "model".into()),
            ModelSpec::Hf { repo, file, .. } => file
                .clone()
                .unwrap_or_else(|| repo.rsplit('/').next().unwrap_or(repo).to_string()),
            ModelSpec::Alias(a) => a.clone(),
            ModelSpec::OpenAi { model, .. } => model.clone(),
        };
        let name: String = raw
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_' {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        let name = name.trim_matches('-').trim_end_matches(".gguf").to_string();
        if name.is_empty() {
            "model".into()
        } else {
            name
        }
    }
}

fn non_empty<'a>(p: &'a str, shape: &str) -> Result<&'a str, String> {
    if p.is_empty() {
        Err(format!("expected {shape}"))
    } else {
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_shape() {
        assert_eq!(
            ModelSpec::parse("gguf:/m/a.gguf").unwrap(),
            ModelSpec::Gguf("/m/a.gguf".into())
        );
        assert_eq!(
            ModelSpec::parse("hf:HuggingFaceTB/SmolLM2-135M-Instruct@main:model.gguf").unwrap(),
            ModelSpec::Hf {
                repo: "HuggingFaceTB/SmolLM2-135M-Instruct".into(),
                revision: Some("main".into()),
                file: Some("model.gguf".into())
            }
        );
        assert_eq!(
            ModelSpec::parse("openai:http://127.0.0.1:8000/v1/#llama").unwrap(),
            ModelSpec::OpenAi {
                url: "http://127.0.0.1:8000/v1".into(),
                model: "llama".into()
            }
        );
        assert_eq!(
            ModelSpec::parse("smollm2-135m-instruct").unwrap(),
            ModelSpec::Alias("smollm2-135m-instruct".into())
        );
        assert!(ModelSpec::parse("hf:noslash").is_err());
        assert!(ModelSpec::parse("openai:ftp://x#m").is_err());
        assert!(ModelSpec::parse("what is this?").is_err());
        assert_eq!(
            ModelSpec::parse("gguf:/x/SmolLM2-135M.Q4_1.gguf")
                .unwrap()
                .short_name(),
            "smollm2-135m.q4_1"
        );
    }
}
