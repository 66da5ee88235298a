//! All terminal output goes through one [`Printer`]: quiet or normal, and errors printed as
//! `error:` with `Caused by:` and an optional `hint:`.

use std::io::Write;

/// How much to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Only results and errors.
    Quiet,
    /// Results, progress and summaries.
    Normal,
}

/// The one place that writes to the terminal.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    level: Level,
}

impl Printer {
    /// A printer at a level.
    pub fn new(quiet: bool) -> Printer {
        Printer {
            level: if quiet { Level::Quiet } else { Level::Normal },
        }
    }

    /// Whether progress and summaries are printed.
    pub fn is_quiet(&self) -> bool {
        self.level == Level::Quiet
    }

    /// Writes a result line to stdout (always printed).
    pub fn out(&self, line: impl AsRef<str>) -> std::io::Result<()> {
        let mut o = std::io::stdout().lock();
        writeln!(o, "{}", line.as_ref())
    }

    /// Writes a status line to stderr (not in quiet mode).
    pub fn status(&self, line: impl AsRef<str>) {
        if !self.is_quiet() {
            let _ = writeln!(std::io::stderr().lock(), "{}", line.as_ref());
        }
    }

    /// Writes a warning to stderr (always).
    pub fn warn(&self, line: impl AsRef<str>) {
        let _ = writeln!(std::io::stderr().lock(), "warning: {}", line.as_ref());
    }
}

/// A hint attached to an error, printed after it.
#[derive(Debug)]
pub struct Hint(pub String);

impl std::fmt::Display for Hint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Hint {}

/// Prints an error chain: `error: …`, each cause as `Caused by: …`, hints as `hint: …`.
pub fn print_error(err: &anyhow::Error) {
    let mut e = std::io::stderr().lock();
    if let Some(popbench::Error::Invalid(diags)) = err.downcast_ref::<popbench::Error>() {
        for d in &diags.0 {
            let _ = writeln!(e, "{d}");
        }
    }
    // Hints are attached as the outermost context (`.context(Hint(..))`): anyhow only
    // recognises a context's type on the error itself, not on the items of its chain.
    let mut hints = Vec::new();
    let mut chain = err.chain();
    if let Some(h) = err.downcast_ref::<Hint>() {
        hints.push(h.0.clone());
        chain.next();
    }
    let mut first = true;
    for cause in chain {
        if first {
            let _ = writeln!(e, "error: {cause}");
            first = false;
        } else {
            let _ = writeln!(e, "  Caused by: {cause}");
        }
    }
    for h in hints {
        let _ = writeln!(e, "hint: {h}");
    }
}
