//! Problems found in curated files, reported as `path:line: message`.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where a value came from: a file and a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Origin {
    /// The file.
    pub path: PathBuf,
    /// 1-based line number; 0 when the whole file is meant.
    pub line: usize,
}

impl Origin {
    /// An origin at a line of a file.
    pub fn new(path: impl Into<PathBuf>, line: usize) -> Self {
        Origin {
            path: path.into(),
            line,
        }
    }

    /// An origin at the byte offset `offset` of `text`, the contents of `path`. Counts the
    /// lines before `offset`: for many origins in one text, use a [`Lines`] index.
    pub fn at_offset(path: &Path, text: &str, offset: usize) -> Self {
        Origin::new(path, line_of(text, offset))
    }
}

/// The line starts of a text, so that the line of any byte offset is a binary search: a
/// file with n values gets their n origins in O(n log n), not O(n²) (a suite of 100k
/// scenarios loads in seconds).
#[derive(Debug, Clone)]
pub struct Lines<'a> {
    path: &'a Path,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    /// Indexes the lines of `text`, the contents of `path`.
    pub fn new(path: &'a Path, text: &str) -> Lines<'a> {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Lines { path, starts }
    }

    /// The 1-based line of a byte offset (clamped to the text), as [`line_of`] counts it.
    pub fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset)
    }

    /// The origin of a byte offset.
    pub fn origin(&self, offset: usize) -> Origin {
        Origin::new(self.path, self.line(offset))
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.path.display())
        } else {
            write!(f, "{}:{}", self.path.display(), self.line)
        }
    }
}

/// The 1-based line of a byte offset (clamped to the text).
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// One problem in a curated file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Where it is.
    pub origin: Origin,
    /// What is wrong, in plain words.
    pub message: String,
}

impl Diagnostic {
    /// A problem at an origin.
    pub fn new(origin: Origin, message: impl Into<String>) -> Self {
        Diagnostic {
            origin,
            message: message.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Messages are single-line by construction; fold any stray newline so that each
        // problem is exactly one `path:line: message` line.
        let message = self.message.replace(['\n', '\r'], " ");
        write!(f, "{}: {}", self.origin, message)
    }
}

/// A list of problems, collected while loading; loading goes on after a problem so that every
/// problem of a data set is reported in one pass.
#[derive(Debug, Default, Clone)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Records a problem.
    pub fn push(&mut self, origin: Origin, message: impl Into<String>) {
        self.0.push(Diagnostic::new(origin, message));
    }

    /// Whether no problem was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of problems.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Sorts problems by path then line, for stable output.
    pub fn sort(&mut self) {
        self.0.sort_by(|a, b| {
            (&a.origin.path, a.origin.line, &a.message).cmp(&(
                &b.origin.path,
                b.origin.line,
                &b.message,
            ))
        });
        self.0.dedup();
    }

    /// Appends all problems of another list.
    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }
}

/// Reads a curated text file; a missing or non-UTF-8 file becomes a diagnostic.
pub fn read_text(path: &Path, diags: &mut Diagnostics) -> Option<String> {
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Some(text),
            Err(e) => {
                let text = String::from_utf8_lossy(e.as_bytes());
                let offset = e.utf8_error().valid_up_to();
                diags.push(
                    Origin::at_offset(path, &text, offset),
                    "file is not valid UTF-8",
                );
                None
            }
        },
        Err(e) => {
            diags.push(Origin::new(path, 0), format!("cannot read file: {e}"));
            None
        }
    }
}

/// Parses TOML into `T`; a syntax or schema error becomes a diagnostic at its line.
pub fn parse_toml<T: serde::de::DeserializeOwned>(
    path: &Path,
    text: &str,
    diags: &mut Diagnostics,
) -> Option<T> {
    match toml::from_str::<T>(text) {
        Ok(v) => Some(v),
        Err(e) => {
            let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(0);
            diags.push(Origin::new(path, line), e.message().trim().to_string());
            None
        }
    }
}

/// Whether `s` is a date written `YYYY-MM-DD` that exists in the calendar.
pub fn is_iso_date(s: &str) -> bool {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    s.len() == 10 && time::Date::parse(s, &fmt).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_index_agrees_with_counting_newlines() {
        let text = "a\nbc\n\n\u{e9}\r\nlast";
        let lines = Lines::new(Path::new("f.toml"), text);
        for offset in 0..text.len() + 3 {
            assert_eq!(lines.line(offset), line_of(text, offset), "offset {offset}");
        }
        assert_eq!(lines.origin(2).to_string(), "f.toml:2");
        let empty = Lines::new(Path::new("e"), "");
        assert_eq!(empty.line(0), 1);
        assert_eq!(empty.line(9), 1);
    }
}
