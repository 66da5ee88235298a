//! Bare domains without a scheme (`childline.org.uk`, `kidshelpphone.ca/text`).

use super::url::{is_platform, normalise_url, trim_url_end, web};
use super::{Extractor, Taken};
use crate::score::text::Text;

/// Top-level domains accepted for bare domains (`childline.org.uk`). Written in lower case in
/// the response; a short list keeps `file.txt` or `help.It` from looking like addresses.
pub(super) const TLDS: &str = "com|org|net|gov|edu|int|info|io|app|online|help|care|chat|ngo|live|uk|ie|de|fr|es|it|pt|br|mx|ar|cl|pe|co|ca|us|au|nz|in|ke|za|ng|gh|ug|tz|rw|zm|zw|ph|jp|kr|cn|ru|ua|pl|nl|be|at|ch|se|no|dk|fi|cz|sk|hu|ro|bg|gr|hr|si|rs|ee|lv|lt|tr|eg|ma|sa|ae|pk|bd|lk|np|my|th|vn|id|sg|hk|tw|il|jo|lb|qa|kw|ve|ec|bo|uy|py|cr|gt|do|lu|is|al|me|mk|ba|md|by|ge|am|az|kz|uz|ir|iq|tn|dz|et|sn|ci|cm|fj";

impl Extractor {
    /// Bare domains without scheme (`childline.org.uk`, `kidshelpphone.ca/text`).
    ///
    /// Why: models often write addresses without `https://`. The top-level domain must be
    /// lower case and from a known list, so `help.It` or `notes.txt` are not addresses.
    /// Example: `go to childline.org.uk` yields `childline.org.uk`.
    pub(super) fn bare_domains(&self, text: &Text, out: &mut Taken) {
        for m in self.domain_matches(text.original) {
            let s = trim_url_end(m.as_str());
            let end = m.start() + s.len();
            let prev = text.original[..m.start()].chars().next_back();
            if matches!(prev, Some('@' | '/' | '.' | '-')) || out.overlaps(m.start(), end) {
                continue;
            }
            // Needs a letter in the name: `3.5.uk` is not an address.
            if !s
                .split('.')
                .next()
                .is_some_and(|l| l.bytes().any(|b| b.is_ascii_alphabetic()))
            {
                continue;
            }
            let norm = normalise_url(s);
            if is_platform(&norm) {
                continue;
            }
            out.push(web(m.start(), end, norm));
        }
    }

    /// The matches of the bare-domain regex, as `find_iter` gives them, with the regex run
    /// only on the runs of text without white space that hold a dot followed by a lower-case
    /// letter: a match lies inside one such run (it has no white space, and ends with a dot and
    /// a top-level domain in lower case), and where the run ends the regex's word boundary
    /// reads the same whether the text goes on (with white space) or stops.
    pub(super) fn domain_matches<'h>(&self, s: &'h str) -> Vec<regex::Match<'h>> {
        let b = s.as_bytes();
        let mut out = Vec::new();
        // Everything before `done` is searched; the next dot is looked for from `from`.
        let (mut done, mut from) = (0, 0);
        while let Some(i) = s[from..].find('.').map(|i| from + i) {
            if !b.get(i + 1).is_some_and(u8::is_ascii_lowercase) {
                from = i + 1;
                continue;
            }
            let run_start = s[done..i]
                .char_indices()
                .rev()
                .find(|(_, c)| c.is_whitespace())
                .map_or(done, |(w, c)| done + w + c.len_utf8());
            let run_end = s[i..].find(char::is_whitespace).map_or(s.len(), |w| i + w);
            let hay = &s[..run_end];
            let mut at = run_start;
            while let Some(m) = self.domain.find_at(hay, at) {
                at = m.end();
                out.push(m);
            }
            (done, from) = (run_end, run_end);
        }
        out
    }
}
