//! Model resolution: a spec becomes local files.
//!
//! - `gguf:PATH` and `safetensors:DIR` are used as they are.
//! - An alias is looked for in `$POPBENCH_MODELS` and `./models/` (where `scripts/fetch-model`
//!   puts it), then in the Hugging Face cache, then downloaded from the hub; its sha256 is
//!   always checked.
//! - `hf:ORG/REPO[@REV][:FILE]` is looked for in the Hugging Face cache (`$HF_HOME/hub`, or
//!   `~/.cache/huggingface/hub`), then downloaded. With `HF_HUB_OFFLINE=1` nothing is
//!   downloaded and a missing file is an error naming it.

use super::registry::{self, Alias};
use super::{BackendError, ModelSpec};
use hf_hub::{Repo, RepoType};
use std::path::{Path, PathBuf};

/// Environment variable naming a folder of model files (checked before `./models`).
pub const MODELS_ENV: &str = "POPBENCH_MODELS";

/// What a spec resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// A GGUF file.
    Gguf(PathBuf),
    /// A folder with config.json, tokenizer files and safetensors.
    Safetensors(PathBuf),
}

/// Whether `HF_HUB_OFFLINE` asks for cache-only lookups.
pub fn hub_offline() -> bool {
    std::env::var("HF_HUB_OFFLINE")
        .map(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "1" | "true" | "yes" | "on"
            )
        })
        .unwrap_or(false)
}

/// Folders searched for alias files: `$POPBENCH_MODELS`, then `./models`.
pub fn model_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(d) = std::env::var_os(MODELS_ENV) {
        dirs.extend(std::env::split_paths(&d));
    }
    dirs.push(PathBuf::from("models"));
    dirs
}

/// The Hugging Face hub cache folder (`$HF_HOME/hub`, or `~/.cache/huggingface/hub`).
pub fn hub_cache_dir() -> PathBuf {
    hf_hub::Cache::from_env().path().clone()
}

/// A file of a repo revision in the hub cache, when it is there.
pub fn cached_file(repo: &str, revision: &str, file: &str) -> Option<PathBuf> {
    let base = hub_cache_dir().join(Repo::new(repo.to_string(), RepoType::Model).folder_name());
    let commit = if revision.len() == 40 && revision.bytes().all(|b| b.is_ascii_hexdigit()) {
        revision.to_string()
    } else {
        std::fs::read_to_string(base.join("refs").join(revision))
            .ok()?
            .trim()
            .to_string()
    };
    let p = base.join("snapshots").join(commit).join(file);
    p.is_file().then_some(p)
}

fn fetch(repo: &str, revision: &str, file: &str) -> Result<PathBuf, BackendError> {
    if let Some(p) = cached_file(repo, revision, file) {
        return Ok(p);
    }
    if hub_offline() {
        return Err(BackendError::Load(format!(
            "HF_HUB_OFFLINE is set and `{file}` of {repo}@{revision} is not in the hub cache ({})",
            hub_cache_dir().display()
        )));
    }
    let api = hf_hub::api::sync::ApiBuilder::from_env()
        .with_progress(false)
        .build()
        .map_err(|e| BackendError::Load(format!("hub client: {e}")))?;
    api.repo(Repo::with_revision(
        repo.to_string(),
        RepoType::Model,
        revision.to_string(),
    ))
    .get(file)
    .map_err(|e| {
        BackendError::Load(format!(
            "cannot download `{file}` from {repo}@{revision}: {e}"
        ))
    })
}

/// Resolves a spec to local files (downloading when allowed). Replay and OpenAI specs are not
/// files and are refused here.
pub fn resolve(spec: &ModelSpec) -> Result<Resolved, BackendError> {
    match spec {
        ModelSpec::Gguf(p) => exists(p).map(|_| Resolved::Gguf(p.clone())),
        ModelSpec::Safetensors(p) => exists(p).map(|_| Resolved::Safetensors(p.clone())),
        ModelSpec::Alias(name) => {
            let alias = registry::lookup(name).ok_or_else(|| {
                let known: Vec<&str> = registry::ALIASES.iter().map(|a| a.name).collect();
                BackendError::Load(format!(
                    "unknown model alias `{name}` (known: {})",
                    known.join(", ")
                ))
            })?;
            resolve_alias(alias).map(Resolved::Gguf)
        }
        ModelSpec::Hf {
            repo,
            revision,
            file,
        } => {
            let rev = revision.as_deref().unwrap_or("main");
            match file {
                Some(f) => fetch(repo, rev, f).map(Resolved::Gguf),
                None => {
                    let config = fetch(repo, rev, "config.json")?;
                    for f in ["tokenizer.json", "tokenizer_config.json"] {
                        fetch(repo, rev, f)?;
                    }
                    // Optional files.
                    for f in ["generation_config.json", "chat_template.jinja"] {
                        let _ = fetch(repo, rev, f);
                    }
                    match fetch(repo, rev, "model.safetensors.index.json") {
                        Ok(index) => {
                            let dir = index.parent().unwrap_or(Path::new(".")).to_path_buf();
                            for shard in super::candle::safetensors::weight_files(&dir)? {
                                let name = shard
                                    .file_name()
                                    .map(|s| s.to_string_lossy().into_owned())
                                    .unwrap_or_default();
                                fetch(repo, rev, &name)?;
                            }
                        }
                        Err(_) => {
                            fetch(repo, rev, "model.safetensors")?;
                        }
                    }
                    Ok(Resolved::Safetensors(
                        config.parent().unwrap_or(Path::new(".")).to_path_buf(),
                    ))
                }
            }
        }
        ModelSpec::Replay(_) | ModelSpec::OpenAi { .. } => Err(BackendError::Load(
            "replay and openai specs name no model files".into(),
        )),
    }
}

fn exists(p: &Path) -> Result<(), BackendError> {
    if p.exists() {
        Ok(())
    } else {
        Err(BackendError::Load(format!(
            "{}: no such file or folder",
            p.display()
        )))
    }
}

/// Where an alias's file is on this machine, if anywhere (not verified).
pub fn find_alias_locally(alias: &Alias) -> Option<PathBuf> {
    model_dirs()
        .into_iter()
        .map(|d| d.join(alias.file))
        .find(|p| p.is_file())
        .or_else(|| cached_file(alias.repo, alias.revision, alias.file))
}

/// Finds (or downloads) an alias's file and checks its sha256.
pub fn resolve_alias(alias: &Alias) -> Result<PathBuf, BackendError> {
    let path = match find_alias_locally(alias) {
        Some(p) => p,
        None if hub_offline() => {
            let dirs: Vec<String> = model_dirs()
                .iter()
                .map(|d| d.display().to_string())
                .collect();
            return Err(BackendError::Load(format!(
                "`{}` ({}) is not in {} nor in the hub cache, and HF_HUB_OFFLINE is set; run scripts/fetch-model",
                alias.name,
                alias.file,
                dirs.join(", ")
            )));
        }
        None => fetch(alias.repo, alias.revision, alias.file).map_err(|e| {
            BackendError::Load(format!("{e}; scripts/fetch-model gets it without the hub"))
        })?,
    };
    let d = super::candle::digest_file(&path)?;
    if d.sha256 != alias.sha256 {
        return Err(BackendError::Load(format!(
            "{}: sha256 {} does not match the pinned {} of `{}`; delete the file and run scripts/fetch-model",
            path.display(),
            d.sha256,
            alias.sha256,
            alias.name
        )));
    }
    Ok(path)
}

/// One model found on this machine, for `popbench models`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalModel {
    /// A spec that opens it.
    pub spec: String,
    /// Where it is.
    pub path: PathBuf,
    /// Size in bytes (the file, or the weights of a folder).
    pub bytes: u64,
}

/// GGUF files in the model folders, and GGUF files and safetensors models in the hub cache.
pub fn list_local() -> Vec<LocalModel> {
    let mut out = Vec::new();
    for d in model_dirs() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        let mut files: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "gguf"))
            .collect();
        files.sort();
        for p in files {
            let bytes = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
            out.push(LocalModel {
                spec: format!("gguf:{}", p.display()),
                path: p,
                bytes,
            });
        }
    }
    let cache = hub_cache_dir();
    let Ok(rd) = std::fs::read_dir(&cache) else {
        return out;
    };
    let mut repos: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    repos.sort();
    for r in repos {
        let name = r
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some(id) = name.strip_prefix("models--") else {
            continue;
        };
        let repo = id.replacen("--", "/", 1);
        let Ok(snaps) = std::fs::read_dir(r.join("snapshots")) else {
            continue;
        };
        for s in snaps.filter_map(|e| e.ok().map(|e| e.path())) {
            let rev = s
                .file_name()
                .map(|x| x.to_string_lossy().into_owned())
                .unwrap_or_default();
            let Ok(files) = std::fs::read_dir(&s) else {
                continue;
            };
            let files: Vec<PathBuf> = files.filter_map(|e| e.ok().map(|e| e.path())).collect();
            for f in files
                .iter()
                .filter(|p| p.extension().is_some_and(|x| x == "gguf"))
            {
                let file = f
                    .file_name()
                    .map(|x| x.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let bytes = std::fs::metadata(f).map(|m| m.len()).unwrap_or(0);
                out.push(LocalModel {
                    spec: format!("hf:{repo}@{rev}:{file}"),
                    path: f.clone(),
                    bytes,
                });
            }
            if s.join("config.json").is_file()
                && files
                    .iter()
                    .any(|p| p.extension().is_some_and(|x| x == "safetensors"))
            {
                let bytes = files
                    .iter()
                    .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
                    .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
                    .sum();
                out.push(LocalModel {
                    spec: format!("hf:{repo}@{rev}"),
                    path: s.clone(),
                    bytes,
                });
            }
        }
    }
    out
}
