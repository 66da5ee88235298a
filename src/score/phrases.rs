//! Every phrase list the scorer matches, in one automaton: rubric triggers and guards,
//! negations, cue words before numbers, service names, local-emergency phrases, and the
//! words an SMS instruction starts with (which tell the extractor whether to run its SMS
//! regexes at all).
//!
//! The automaton is built once per [`Scorer`](super::Scorer); each response is folded once
//! ([`Text`]) and scanned once, and each pattern id maps back to what the phrase means (one
//! folded phrase can mean several things: "never" is a negation and a guard of several rules).
//! [`Hits`] sorts the hits into one list per meaning, each in the order a separate automaton
//! for that list alone would give them (by end, longest first), so splitting or merging the
//! lists never changes a verdict.

use super::extract::{Cue, CUES, SMS_WORDS};
use super::referral::LOCAL_EMERGENCY;
use super::rubric::{NEGATIONS, RULES};
use super::text::{Bounds, Hit, PhraseSet, Text};

/// What a phrase means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phrase {
    /// A trigger (`false`) or guard (`true`) of the rubric rule at this index of [`RULES`].
    Rubric(u8, bool),
    /// A negation that cancels a following trigger of a negatable rule.
    Negation,
    /// A cue word before a number.
    Cue(Cue),
    /// A directory service name: its id in the index's name list (with
    /// [`NAME_CAPITAL`](super::extract::NAME_CAPITAL) when it needs a capital).
    Name(u32),
    /// A phrase that sends the child to emergency services without a number.
    Emergency,
    /// A word an SMS instruction of this list of [`SMS_WORDS`] starts with, at the end of a
    /// word (whatever comes before it).
    SmsWord(u8),
}

/// The compiled phrase automaton.
#[derive(Debug, Clone)]
pub struct Phrases(PhraseSet<Phrase>);

/// The phrases found in one response, one list per meaning, each in order of end.
#[derive(Debug, Clone, Default)]
pub struct Hits {
    /// Rubric triggers and guards, tagged `(rule, guard)`.
    pub rubric: Vec<Hit<(u8, bool)>>,
    /// Negations.
    pub negations: Vec<Hit<()>>,
    /// Cue words before numbers.
    pub cues: Vec<Hit<Cue>>,
    /// Service names.
    pub names: Vec<Hit<u32>>,
    /// The first local-emergency phrase (folded span).
    pub emergency: Option<(usize, usize)>,
    /// For each list of [`SMS_WORDS`], whether the folded text holds one of its words at the
    /// end of a word.
    pub sms_words: [bool; SMS_WORDS.len()],
}

impl Phrases {
    /// Builds the automaton for a list of service names (each with the id the index gives
    /// it) and every fixed phrase list.
    pub fn new<'a>(names: impl IntoIterator<Item = (&'a str, u32)>) -> Phrases {
        let mut all: Vec<(&str, Phrase)> = Vec::new();
        let words = Bounds::Words;
        for (i, r) in RULES.iter().enumerate() {
            all.extend(
                r.phrases
                    .iter()
                    .map(|p| (*p, Phrase::Rubric(i as u8, false))),
            );
            all.extend(r.guards.iter().map(|p| (*p, Phrase::Rubric(i as u8, true))));
        }
        all.extend(NEGATIONS.iter().map(|n| (*n, Phrase::Negation)));
        all.extend(CUES.iter().map(|&(c, cue)| (c, Phrase::Cue(cue))));
        all.extend(names.into_iter().map(|(n, id)| (n, Phrase::Name(id))));
        all.extend(LOCAL_EMERGENCY.iter().map(|p| (*p, Phrase::Emergency)));
        let anywhere = SMS_WORDS.iter().enumerate().flat_map(|(i, list)| {
            list.iter()
                .map(move |w| (*w, Phrase::SmsWord(i as u8), Bounds::End))
        });
        Phrases(PhraseSet::with_bounds(
            all.into_iter().map(|(p, m)| (p, m, words)).chain(anywhere),
        ))
    }

    /// Scans a response once.
    pub fn scan(&self, text: &Text) -> Hits {
        let mut h = Hits {
            rubric: Vec::with_capacity(32),
            negations: Vec::with_capacity(16),
            cues: Vec::with_capacity(16),
            names: Vec::with_capacity(16),
            ..Hits::default()
        };
        self.0.scan(text, |hit| {
            let (start, end) = (hit.start, hit.end);
            match hit.tag {
                Phrase::Rubric(rule, guard) => h.rubric.push(Hit {
                    start,
                    end,
                    tag: (rule, guard),
                }),
                Phrase::Negation => h.negations.push(Hit {
                    start,
                    end,
                    tag: (),
                }),
                Phrase::Cue(c) => h.cues.push(Hit { start, end, tag: c }),
                Phrase::Name(id) => h.names.push(Hit {
                    start,
                    end,
                    tag: id,
                }),
                Phrase::Emergency => {
                    if h.emergency.is_none() {
                        h.emergency = Some((start, end));
                    }
                }
                Phrase::SmsWord(i) => h.sms_words[i as usize] = true,
            }
        });
        h
    }
}
