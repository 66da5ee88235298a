//! The curated data a run needs, found under one data root: `datasets/directory/`,
//! `datasets/policy.toml` and `scenarios/contexts.toml`.

use crate::context::{Contexts, ContextsFile};
use crate::diag::Diagnostics;
use crate::directory::{self, Directory};
use crate::policy::Policy;
use std::path::{Path, PathBuf};

/// The environment variable that names the data root.
pub const DATA_ENV: &str = "POPBENCH_DATA";

/// Finds the data root: `explicit`, else `$POPBENCH_DATA`, else the nearest ancestor of the
/// current directory holding `datasets/policy.toml`, else the source tree popbench was built
/// from.
pub fn find_root(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    if let Some(p) = std::env::var_os(DATA_ENV).filter(|v| !v.is_empty()) {
        return PathBuf::from(p);
    }
    if let Ok(cwd) = std::env::current_dir() {
        for dir in cwd.ancestors() {
            if dir.join("datasets").join("policy.toml").is_file() {
                return dir.to_path_buf();
            }
        }
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Directory, policy and contexts, loaded together.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The data root.
    pub root: PathBuf,
    /// The directory of services.
    pub directory: Directory,
    /// The referral policy.
    pub policy: Policy,
    /// The deployment contexts.
    pub contexts: Contexts,
}

impl Dataset {
    /// The directory folder under a root.
    pub fn directory_dir(root: &Path) -> PathBuf {
        root.join("datasets").join("directory")
    }

    /// The policy file under a root.
    pub fn policy_path(root: &Path) -> PathBuf {
        root.join("datasets").join("policy.toml")
    }

    /// The contexts file under a root.
    pub fn contexts_path(root: &Path) -> PathBuf {
        root.join("scenarios").join("contexts.toml")
    }

    /// Loads everything; problems go to `diags`.
    pub fn load(root: &Path, diags: &mut Diagnostics) -> Dataset {
        Dataset {
            root: root.to_path_buf(),
            directory: directory::load(&Self::directory_dir(root), diags),
            policy: Policy::load(&Self::policy_path(root), diags),
            contexts: Contexts::load(&Self::contexts_path(root), diags),
        }
    }

    /// Loads everything, failing with every problem when any file is wrong.
    pub fn load_strict(root: &Path) -> Result<Dataset, crate::Error> {
        let mut diags = Diagnostics::default();
        let d = Dataset::load(root, &mut diags);
        if diags.is_empty() {
            Ok(d)
        } else {
            diags.sort();
            Err(crate::Error::Invalid(diags))
        }
    }

    /// Adds a partner's contexts file (`run --contexts FILE`), failing with every problem
    /// of it as `path:line: message`.
    pub fn add_contexts_file(&mut self, path: &Path) -> Result<(), crate::Error> {
        let mut diags = Diagnostics::default();
        self.contexts.add_file(path, &mut diags);
        if diags.is_empty() {
            Ok(())
        } else {
            diags.sort();
            Err(crate::Error::Invalid(diags))
        }
    }

    /// This data with the contexts a run recorded from its `--contexts` file (borrowed as it
    /// is when the run had none), for the commands that read a run later (merge, judge).
    pub fn for_run(
        &self,
        file: Option<&ContextsFile>,
    ) -> Result<std::borrow::Cow<'_, Dataset>, crate::Error> {
        let Some(file) = file else {
            return Ok(std::borrow::Cow::Borrowed(self));
        };
        let mut d = self.clone();
        d.contexts.add_recorded(file).map_err(crate::Error::Input)?;
        Ok(std::borrow::Cow::Owned(d))
    }

    /// The English name of a country code (the code itself when unknown).
    pub fn country_name(&self, code: &str) -> String {
        self.directory
            .country(code)
            .map(|e| e.name.clone())
            .unwrap_or_else(|| code.to_string())
    }
}
