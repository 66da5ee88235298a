//! The conversations section: live multi-turn conversations (`conversations.jsonl`), turn by
//! turn. Per system, fixed-turn conversations and adaptive-child conversations are two groups,
//! never pooled. Each group has the conversation metrics (k/n with a 95% interval, clustered
//! by scenario family), a strip of families × child turns showing the share of conversations
//! whose answer at that turn gives a correct referral (with the push-back turn and the turn
//! where the risk becomes imminent marked), and one whole transcript per family. The metrics
//! and the populations are [`crate::metric`]'s ([`ConversationMetric`],
//! [`ConversationPopulation`]): no-harm control conversations are in neither population and
//! are not shown.

use super::exemplars::{truncate_chars, EXEMPLAR_MAX_CHARS};
use super::Context;
use crate::metric::{
    turn_needs_referral, turn_referral_curve, ConversationMetric, ConversationPopulation,
};
use crate::report::doc::build::{defs, fold, list, list_link, meta, name, para, t};
use crate::report::doc::{Block, Cell, FoldKind, Inline, Table, Tone, Untrusted};
use crate::report::figures::finish;
use crate::report::fmt::pct;
use crate::report::model::Figure;
use crate::run::ResponseRecord;
use crate::scenario::{Role, Scenario};
use crate::score::conversation::ConversationVerdict;
use crate::score::verdict::Severity;
use crate::stats::{Cluster, Estimate};
use crate::taxonomy::Risk;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The conversations of every system.
#[derive(Debug, Clone, Serialize)]
pub struct Conversations {
    /// The metrics' definitions, in the order each group lists its figures.
    pub definitions: Vec<ConversationMetricDefinition>,
    /// One group per system and kind of child (fixed turns first), in leaderboard order.
    pub groups: Vec<ConversationGroup>,
}

/// What a conversation metric counts.
#[derive(Debug, Clone, Serialize)]
pub struct ConversationMetricDefinition {
    /// Stable id (`referral_reached`, …).
    pub id: String,
    /// Short label.
    pub label: String,
    /// Definition: numerator and denominator in words.
    pub definition: String,
    /// Whether higher is better.
    pub higher_is_better: bool,
}

/// The conversations of one system with one kind of child.
#[derive(Debug, Clone, Serialize)]
pub struct ConversationGroup {
    /// Anchor prefix (`c0`, `c1`, …), unique in the report.
    pub anchor: String,
    /// The system.
    pub system: String,
    /// Whether an adaptive child (`--child`) wrote the child's later turns.
    pub adaptive_child: bool,
    /// The population's id (`fixed_turns`, `adaptive_child`).
    pub population: String,
    /// Conversations.
    pub conversations: u64,
    /// Families.
    pub families: u64,
    /// One figure per metric, in [`Conversations::definitions`] order.
    pub metrics: Vec<ConversationFigure>,
    /// How many conversations first gave a correct referral at each child turn (`None`:
    /// never), among those that needed one.
    pub first_referral: Vec<FirstReferral>,
    /// Every family together: for each child turn number, conversations with an answer at
    /// that turn and those whose answer gives a correct referral ([`turn_referral_curve`]).
    pub curve: Vec<TurnCount>,
    /// Families × child turns.
    pub strip: Strip,
    /// One whole conversation per family, in the strip's row order.
    pub transcripts: Vec<Transcript>,
}

/// A conversation metric's figure.
#[derive(Debug, Clone, Serialize)]
pub struct ConversationFigure {
    /// The metric id.
    pub metric: String,
    /// The figure: conversations with the outcome over conversations it applies to, Wilson
    /// interval over the effective number of families (conversations of one family are not
    /// independent).
    pub figure: Figure,
}

/// Correct referral at one child turn, over every family.
#[derive(Debug, Clone, Serialize)]
pub struct TurnCount {
    /// The child turn's number, from 1.
    pub number: usize,
    /// Conversations with an answer at this turn.
    pub n: u64,
    /// Of those, answers giving a correct referral.
    pub referral: u64,
    /// `referral / n`.
    pub share: Option<f64>,
    /// The list of the conversations counted (their last answer's item), those with a
    /// correct referral at this turn first.
    pub items: Option<u32>,
}

/// How many conversations first referred at one child turn.
#[derive(Debug, Clone, Serialize)]
pub struct FirstReferral {
    /// The child turn's number (from 1); `None` for never.
    pub number: Option<usize>,
    /// Conversations.
    pub conversations: u64,
}

/// The turn-by-turn strip: one row per family, one column per child turn number.
#[derive(Debug, Clone, Serialize)]
pub struct Strip {
    /// Child turn numbers shown (1..=turns).
    pub turns: usize,
    /// One row per family, by family id.
    pub rows: Vec<StripRow>,
}

/// One family in the strip.
#[derive(Debug, Clone, Serialize)]
pub struct StripRow {
    /// The family id.
    pub family: String,
    /// Its conversations.
    pub conversations: u64,
    /// The anchor of its transcript.
    pub transcript: String,
    /// One cell per child turn number, from 1.
    pub cells: Vec<StripCell>,
}

/// One family at one child turn.
#[derive(Debug, Clone, Serialize)]
pub struct StripCell {
    /// The child turn's number, from 1.
    pub number: usize,
    /// Conversations of the family with an answer at this turn that needs a referral.
    pub n: u64,
    /// Conversations of the family with an answer at this turn that needs none (not counted
    /// in `n`).
    pub not_needed: u64,
    /// Of those, answers giving a correct referral.
    pub referral: u64,
    /// `referral / n`; `None` when `n = 0`.
    pub share: Option<f64>,
    /// Conversations whose child pushes back at this turn.
    pub pushback: u64,
    /// Conversations whose risk becomes imminent at this turn.
    pub imminent: u64,
    /// The anchor of this turn in the family's transcript, when the transcript has it.
    pub link: Option<String>,
}

/// One whole conversation shown as evidence.
#[derive(Debug, Clone, Serialize)]
pub struct Transcript {
    /// Its anchor.
    pub anchor: String,
    /// Scenario.
    pub scenario_id: String,
    /// Family.
    pub family: String,
    /// Context.
    pub context: String,
    /// Sample.
    pub sample: u32,
    /// Harm id.
    pub harm: String,
    /// Country.
    pub country: String,
    /// Language (BCP 47).
    pub language: String,
    /// Whether the language is written right to left.
    pub rtl: bool,
    /// The appendix item of its last answer, when it has one.
    pub item: Option<u32>,
    /// Why it was chosen, in words.
    pub why: String,
    /// The first child turn whose answer gives a correct referral.
    pub first_referral: Option<usize>,
    /// The first child turn at which the conversation abandons the child.
    pub abandoned_at: Option<usize>,
    /// How (`drops_help`, `refuses`).
    pub abandonment: Option<String>,
    /// The turns.
    pub turns: Vec<TranscriptTurn>,
}

/// One child turn and the model's answer, with the answer's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct TranscriptTurn {
    /// Its anchor.
    pub anchor: String,
    /// The child turn's number, from 1.
    pub number: usize,
    /// The child's words; `None` when neither the scenario nor the record has them.
    pub child: Option<String>,
    /// Whether an adaptive child wrote them.
    pub child_adaptive: bool,
    /// The answer (cut at the exemplar limit); `None` when responses.jsonl lacks it.
    pub answer: Option<String>,
    /// Whether the answer was cut.
    pub answer_truncated: bool,
    /// The risk in force at this turn.
    pub risk: String,
    /// Whether the child pushes back here.
    pub pushback: bool,
    /// Whether this turn needs a referral ([`crate::metric::turn_needs_referral`]).
    pub needs_referral: bool,
    /// Whether the answer gives a correct referral.
    pub referral: bool,
    /// Whether the answer's verdict passes.
    pub pass: bool,
    /// Emergency outcome (`correct`, `missing`, `not_required`, …).
    pub emergency: String,
    /// The contacts of the answer, with status.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<crate::report::model::ContactView>,
    /// Critical findings (`id: evidence`).
    pub critical: Vec<String>,
    /// Flags.
    pub flags: Vec<String>,
}

/// The definitions of the conversation metrics ([`ConversationMetric`], the one definition).
pub fn definitions() -> Vec<ConversationMetricDefinition> {
    ConversationMetric::ALL
        .iter()
        .map(|&m| ConversationMetricDefinition {
            id: m.id().into(),
            label: m.label().into(),
            definition: m.definition(),
            higher_is_better: m.higher_is_better(),
        })
        .collect()
}

/// The number of the first child turn scored at imminent risk.
fn imminent_number(c: &ConversationVerdict) -> Option<usize> {
    c.turns
        .iter()
        .find(|t| t.verdict.risk == Risk::Imminent)
        .map(|t| t.number)
}

/// Why a conversation is worth reading, or `None` when it went well throughout.
fn trouble(c: &ConversationVerdict) -> Option<&'static str> {
    if c.abandoned_at.is_some() {
        Some("it abandons the child")
    } else if c.referral_kept_after_pushback == Some(false) {
        Some("the referral is lost after push-back")
    } else if c.emergency_at_imminent == Some(false) {
        Some("the emergency is missed when the risk becomes imminent")
    } else if !c.critical_turns.is_empty() {
        Some("an answer carries a critical flag")
    } else if c.referral_needed_from.is_some() && c.first_referral.is_none() {
        Some("no answer gives a correct referral")
    } else {
        None
    }
}

fn id_of<T: Serialize>(x: T) -> String {
    super::items::id_of(x)
}

/// Builds the section, or `None` when no run has conversations.
pub(in crate::report) fn build(cx: &mut Context<'_, '_>) -> Option<Conversations> {
    let runs = cx.input.runs;
    if runs.iter().all(|r| r.conversations.is_empty()) {
        return None;
    }
    let scen: HashMap<&str, &Scenario> = cx
        .input
        .scenarios
        .iter()
        .map(|s| (s.id.as_str(), s))
        .collect();
    let items: HashMap<(usize, &str, &str, u32), u32> = cx
        .rows
        .iter()
        .map(|r| {
            (
                (
                    r.sys,
                    r.v.scenario_id.as_str(),
                    r.v.context.as_str(),
                    r.v.sample,
                ),
                r.idx,
            )
        })
        .collect();
    let mut groups = Vec::new();
    for &sys in cx.order {
        let run = &runs[sys];
        let responses: HashMap<(&str, &str, u32), &ResponseRecord> = run
            .responses
            .iter()
            .map(|x| ((x.scenario_id.as_str(), x.context.as_str(), x.sample), x))
            .collect();
        for pop in ConversationPopulation::ALL {
            let adaptive = pop == ConversationPopulation::AdaptiveChild;
            let mut convs: Vec<&ConversationVerdict> = run
                .conversations
                .iter()
                .filter(|c| pop.contains(c))
                .collect();
            if convs.is_empty() {
                continue;
            }
            convs.sort_by(|a, b| {
                (&a.family, &a.scenario_id, &a.context, a.sample).cmp(&(
                    &b.family,
                    &b.scenario_id,
                    &b.context,
                    b.sample,
                ))
            });
            let anchor = format!("c{}", groups.len());
            let system = &cx.names[sys];
            let item_of = |c: &ConversationVerdict| {
                items
                    .get(&(sys, c.scenario_id.as_str(), c.context.as_str(), c.sample))
                    .copied()
            };
            let kind = if adaptive {
                "adaptive child"
            } else {
                "fixed child turns"
            };
            let metrics = ConversationMetric::ALL
                .iter()
                .map(|&m| {
                    let mut clusters: BTreeMap<&str, Cluster> = BTreeMap::new();
                    let mut scenarios = BTreeSet::new();
                    cx.tally.start();
                    for c in &convs {
                        if let Some(o) = m.outcome(c) {
                            let cl = clusters.entry(c.family.as_str()).or_default();
                            cl.n += 1;
                            cl.k += u64::from(o);
                            scenarios.insert(c.scenario_id.as_str());
                            if let Some(i) = item_of(c) {
                                cx.tally.members.push((i, o));
                            }
                        }
                    }
                    let clusters: Vec<Cluster> = clusters.into_values().collect();
                    let list = cx
                        .tally
                        .take_list(format!("{system}: conversations ({kind}), {}", m.label()));
                    ConversationFigure {
                        metric: m.id().into(),
                        figure: finish(
                            Estimate::from_clusters(&clusters),
                            scenarios.len() as u64,
                            m.higher_is_better(),
                            list,
                        ),
                    }
                })
                .collect();
            let mut firsts: BTreeMap<Option<usize>, u64> = BTreeMap::new();
            for c in convs.iter().filter(|c| c.referral_needed_from.is_some()) {
                *firsts.entry(c.first_referral).or_default() += 1;
            }
            // Never (`None`) last.
            let first_referral: Vec<FirstReferral> = firsts
                .iter()
                .filter(|(n, _)| n.is_some())
                .chain(firsts.iter().filter(|(n, _)| n.is_none()))
                .map(|(&number, &conversations)| FirstReferral {
                    number,
                    conversations,
                })
                .collect();

            let turns = convs
                .iter()
                .flat_map(|c| c.turns.iter().map(|t| t.number))
                .max()
                .unwrap_or(0);
            let mut rows = Vec::new();
            let mut transcripts = Vec::new();
            for fam in convs.chunk_by(|a, b| a.family == b.family) {
                let t_anchor = format!("{anchor}-f{}", rows.len());
                let pick = fam
                    .iter()
                    .find(|c| trouble(c).is_some())
                    .copied()
                    .unwrap_or(fam[0]);
                let transcript = transcript(pick, &t_anchor, &scen, &responses, item_of(pick));
                let cells = (1..=turns)
                    .map(|number| {
                        let (mut n, mut not_needed, mut referral, mut pushback, mut imminent) =
                            (0, 0, 0, 0, 0);
                        for c in fam {
                            if let Some(t) = c.turns.iter().find(|t| t.number == number) {
                                if turn_needs_referral(c, number) {
                                    n += 1;
                                    referral += u64::from(t.referral);
                                } else {
                                    not_needed += 1;
                                }
                                pushback += u64::from(t.pushback);
                            }
                            imminent += u64::from(imminent_number(c) == Some(number));
                        }
                        StripCell {
                            number,
                            n,
                            not_needed,
                            referral,
                            share: (n > 0).then(|| referral as f64 / n as f64),
                            pushback,
                            imminent,
                            link: transcript
                                .turns
                                .iter()
                                .find(|t| t.number == number)
                                .map(|t| t.anchor.clone()),
                        }
                    })
                    .collect();
                rows.push(StripRow {
                    family: fam[0].family.clone(),
                    conversations: fam.len() as u64,
                    transcript: t_anchor,
                    cells,
                });
                transcripts.push(transcript);
            }
            groups.push(ConversationGroup {
                anchor,
                system: system.clone(),
                adaptive_child: adaptive,
                population: pop.id().into(),
                conversations: convs.len() as u64,
                families: rows.len() as u64,
                metrics,
                first_referral,
                curve: turn_referral_curve(pop, convs.iter().copied())
                    .into_iter()
                    .map(|(number, c)| TurnCount {
                        number,
                        n: c.n,
                        referral: c.k,
                        share: c.rate(),
                        items: {
                            cx.tally.start();
                            for conv in &convs {
                                let at = conv.turns.iter().find(|t| t.number == number);
                                if let (Some(t), Some(i)) = (at, item_of(conv)) {
                                    if turn_needs_referral(conv, number) {
                                        cx.tally.members.push((i, t.referral));
                                    }
                                }
                            }
                            cx.tally.take_list(format!(
                                "{system}: conversations ({kind}) at child turn {number} (it needs a referral), correct referral"
                            ))
                        },
                    })
                    .collect(),
                strip: Strip { turns, rows },
                transcripts,
            });
        }
    }
    Some(Conversations {
        definitions: definitions(),
        groups,
    })
}

/// A whole conversation: each child turn (from the scenario, or the adaptive child's words
/// recorded in the response record) with the model's answer and its verdict.
fn transcript(
    c: &ConversationVerdict,
    anchor: &str,
    scen: &HashMap<&str, &Scenario>,
    responses: &HashMap<(&str, &str, u32), &ResponseRecord>,
    item: Option<u32>,
) -> Transcript {
    let sc = scen.get(c.scenario_id.as_str()).copied();
    let rec = responses
        .get(&(c.scenario_id.as_str(), c.context.as_str(), c.sample))
        .copied();
    let turns = live_turns(c, anchor, sc, rec, EXEMPLAR_MAX_CHARS);
    Transcript {
        anchor: anchor.to_string(),
        scenario_id: c.scenario_id.clone(),
        family: c.family.clone(),
        context: c.context.clone(),
        sample: c.sample,
        harm: c.harm.id().to_string(),
        country: c.country.clone(),
        language: c.language.clone(),
        rtl: crate::report::names::is_rtl(&c.language),
        item,
        why: trouble(c)
            .map(|w| format!("shown because {w}"))
            .unwrap_or_else(|| "no conversation of this family went wrong".into()),
        first_referral: c.first_referral,
        abandoned_at: c.abandoned_at,
        abandonment: c.abandonment.map(id_of),
        turns,
    }
}

/// The turns of a live conversation as lived: each child turn (from the scenario, or the
/// adaptive child's words recorded in the response record) with the model's own answer (cut
/// at `max_chars`) and that answer's verdict; anchors `{anchor}-t{number}`.
pub(in crate::report) fn live_turns(
    c: &ConversationVerdict,
    anchor: &str,
    sc: Option<&Scenario>,
    rec: Option<&ResponseRecord>,
    max_chars: usize,
) -> Vec<TranscriptTurn> {
    let last = c.turns.iter().map(|t| t.turn).max();
    c.turns
        .iter()
        .map(|t| {
            let earlier = rec.and_then(|r| r.turns.iter().find(|a| a.turn == t.turn));
            let is_last = Some(t.turn) == last && earlier.is_none();
            let recorded_child = match earlier {
                Some(a) => a.child.clone(),
                None if is_last => rec.and_then(|r| r.child.clone()),
                None => None,
            };
            let scenario_child = sc
                .and_then(|s| s.turns.get(t.turn))
                .filter(|x| x.role == Role::User)
                .map(|x| x.content.clone());
            let child_adaptive = recorded_child.is_some();
            let answer = match earlier {
                Some(a) => Some(a.response.as_str()),
                None if is_last => rec.map(|r| r.response.as_str()),
                None => None,
            };
            let (answer, answer_truncated) = match answer {
                Some(a) => {
                    let (s, cut) = truncate_chars(a, max_chars);
                    (Some(s), cut)
                }
                None => (None, false),
            };
            TranscriptTurn {
                anchor: format!("{anchor}-t{}", t.number),
                number: t.number,
                child: recorded_child.or(scenario_child),
                child_adaptive,
                answer,
                answer_truncated,
                risk: t.verdict.risk.id().to_string(),
                pushback: t.pushback,
                needs_referral: turn_needs_referral(c, t.number),
                referral: t.referral,
                pass: t.verdict.pass,
                emergency: id_of(t.verdict.referral.emergency),
                contacts: super::items::contacts(&t.verdict),
                critical: t
                    .verdict
                    .findings
                    .iter()
                    .filter(|f| f.severity == Severity::Critical)
                    .map(|f| format!("{}: {}", f.id, f.evidence))
                    .collect(),
                flags: t.verdict.flags.clone(),
            }
        })
        .collect()
}

/// The section: per group, the conversation metrics, the first correct referral, the turn
/// by turn heat table and the transcripts.
pub fn write(c: &Conversations) -> Vec<Block<'_>> {
    let mut o = vec![
        para("Live conversations: the model under test answers every child turn, with its own earlier answers in the history, and each answer is scored at the risk in force at that turn. Each figure counts conversations (events/denominator); conversations of one family are not independent, so an interval marked † is a Wilson interval over the effective number of families. Conversations whose later child turns an adaptive child wrote are reported apart, never pooled with fixed-turn ones. Each cell of the turn-by-turn table and each transcript links to the turns it counts; transcripts are collapsed (a link opens one)."),
        fold(
            None,
            FoldKind::Plain,
            vec![t("What each figure counts")],
            vec![defs(
                c.definitions
                    .iter()
                    .map(|d| (d.label.as_str(), d.definition.as_str())),
            )],
        ),
    ];
    for g in &c.groups {
        let kind = if g.adaptive_child {
            "adaptive child"
        } else {
            "fixed child turns"
        };
        o.push(Block::Heading {
            level: 3,
            id: Some(g.anchor.clone()),
            text: vec![name(&g.system), t(format!(": {kind}"))],
        });
        o.push(meta(format!(
            "{} conversations in {} families.",
            g.conversations, g.families
        )));
        o.push(Block::Table(Table {
            caption: Some(vec![
                t("Conversation metrics: "),
                name(&g.system),
                t(format!(", {kind}")),
            ]),
            head: vec![vec![t("Metric")], vec![t("Conversations")]],
            rows: c
                .definitions
                .iter()
                .zip(&g.metrics)
                .map(|(d, f)| vec![Cell::head(vec![t(&d.label)]), Cell::figure(&f.figure)])
                .collect(),
        }));
        if !g.first_referral.is_empty() {
            let parts: Vec<String> = g
                .first_referral
                .iter()
                .map(|f| match f.number {
                    Some(n) => format!("turn {n}: {}", f.conversations),
                    None => format!("never: {}", f.conversations),
                })
                .collect();
            o.push(para(format!(
                "First correct referral, among conversations that needed one: {}.",
                parts.join(" · ")
            )));
        }
        o.push(Block::Heading {
            level: 4,
            id: None,
            text: vec![t("Turn by turn")],
        });
        o.push(Block::HeatLegend);
        let mut head = vec![vec![t("Family")], vec![t("Conversations")]];
        head.extend((1..=g.strip.turns).map(|n| vec![t(format!("Turn {n}"))]));
        let mut rows = Vec::new();
        let mut all = vec![
            Cell::head(vec![t("All families")]),
            Cell::num(vec![t(g.conversations.to_string())]),
        ];
        for n in 1..=g.strip.turns {
            all.push(match g.curve.iter().find(|x| x.number == n) {
                Some(x) if x.n > 0 => {
                    let mut c = list_link(x.items, vec![t(format!("{}/{}", x.referral, x.n))]);
                    c.extend([t(" "), Inline::Meta(vec![t(pct(x.share))])]);
                    Cell {
                        heat: Some(x.share),
                        ..Cell::num(c)
                    }
                }
                _ => Cell::num(vec![Inline::Meta(vec![t("not needed")])]),
            });
        }
        rows.push(all);
        for row in &g.strip.rows {
            let mut cells = vec![
                Cell::head(vec![Inline::Link {
                    to: row.transcript.clone(),
                    text: vec![name(&row.family)],
                }]),
                Cell::num(vec![t(row.conversations.to_string())]),
            ];
            for cell in &row.cells {
                let text = if cell.n == 0 {
                    if cell.not_needed > 0 {
                        "not needed".to_string()
                    } else {
                        "–".to_string()
                    }
                } else {
                    format!("{}/{}", cell.referral, cell.n)
                };
                let marks = format!(
                    "{}{}",
                    if cell.pushback > 0 { " P" } else { "" },
                    if cell.imminent > 0 { " !" } else { "" }
                );
                let mut content = match &cell.link {
                    Some(l) if cell.n > 0 => vec![Inline::Link {
                        to: l.clone(),
                        text: vec![t(text)],
                    }],
                    _ => vec![t(text)],
                };
                if !marks.is_empty() {
                    content.push(t(marks));
                }
                cells.push(Cell {
                    heat: (cell.n > 0).then_some(cell.share),
                    ..Cell::num(content)
                });
            }
            rows.push(cells);
        }
        o.push(Block::Table(Table {
            caption: Some(vec![t("Correct referral by family and child turn, counting only turns that need a referral (events/conversations at that turn; \"not needed\": no referral is needed yet at that turn; P push-back turn, ! risk becomes imminent)")]),
            head,
            rows,
        }));
        o.push(Block::Heading {
            level: 4,
            id: None,
            text: vec![t("Transcripts")],
        });
        o.push(para("One conversation per family: the first that went wrong, else the first. The model's answers are quoted as generated (escaped, never executed)."));
        o.extend(g.transcripts.iter().map(transcript_block));
    }
    o
}

fn transcript_block(tr: &Transcript) -> Block<'_> {
    let mut line = vec![t(format!(
        "{} · {} · {} · context {} · sample {} · first correct referral: {}{}",
        tr.harm,
        tr.country,
        tr.language,
        crate::report::names::context(&tr.context),
        tr.sample,
        tr.first_referral
            .map(|n| format!("turn {n}"))
            .unwrap_or_else(|| "none".into()),
        match (tr.abandoned_at, &tr.abandonment) {
            (Some(n), Some(how)) => format!(
                " · abandons the child at turn {n} ({})",
                how.replace('_', " ")
            ),
            (Some(n), None) => format!(" · abandons the child at turn {n}"),
            _ => String::new(),
        }
    ))];
    if let Some(i) = tr.item {
        line.push(t(" · "));
        line.push(Inline::Link {
            to: format!("i{i}"),
            text: vec![t("last answer in the appendix")],
        });
    }
    let mut body = vec![Block::Meta(line)];
    for turn in &tr.turns {
        body.extend(turn_blocks(turn, &tr.language, tr.rtl));
    }
    fold(
        Some(tr.anchor.clone()),
        FoldKind::Frame,
        vec![
            Inline::Strong(vec![name(&tr.family)]),
            t(" "),
            Inline::Meta(vec![name(&tr.scenario_id), t(format!(" · {}", tr.why))]),
        ],
        body,
    )
}

/// One turn of a live conversation: a heading with its anchor, the risk in force, whether
/// it needs a referral and what the answer's verdict says; the child's words; the model's
/// answer; its contacts, flags and critical findings. The transcripts and the item appendix
/// show turns this one way.
pub(in crate::report) fn turn_blocks<'r>(
    turn: &'r TranscriptTurn,
    lang: &'r str,
    rtl: bool,
) -> Vec<Block<'r>> {
    let untrusted = |text| Untrusted::new(text, lang, rtl);
    let mut head = vec![
        t(format!(
            "Turn {} · {} risk{} · ",
            turn.number,
            turn.risk,
            if turn.pushback { " · push-back" } else { "" }
        )),
        match (turn.needs_referral, turn.referral) {
            (true, true) => Inline::Tone(Tone::Good, vec![t("correct referral")]),
            (true, false) => Inline::Tone(Tone::Bad, vec![t("no correct referral")]),
            (false, true) => {
                Inline::Tone(Tone::Good, vec![t("correct referral (none needed yet)")])
            }
            (false, false) => Inline::Meta(vec![t("no referral needed at this turn")]),
        },
        t(" · "),
        Inline::Tone(
            if turn.pass { Tone::Good } else { Tone::Bad },
            vec![t(if turn.pass {
                "answer passes"
            } else {
                "answer fails"
            })],
        ),
    ];
    if turn.emergency != "not_required" {
        head.push(t(format!(
            " · emergency: {}",
            turn.emergency.replace('_', " ")
        )));
    }
    let mut body = vec![Block::Heading {
        level: 5,
        id: Some(turn.anchor.clone()),
        text: head,
    }];
    match &turn.child {
        Some(text) => {
            body.push(meta(if turn.child_adaptive {
                "The child (adaptive child):"
            } else {
                "The child:"
            }));
            body.push(Block::Quote(untrusted(text)));
        }
        None => body.push(meta("The child's words are not in the loaded suites.")),
    }
    match &turn.answer {
        Some(text) => {
            body.push(meta("The model's answer:"));
            body.push(Block::Output(untrusted(text)));
            if turn.answer_truncated {
                body.push(meta("(cut at the exemplar limit)"));
            }
        }
        None => body.push(meta("The answer is not in responses.jsonl.")),
    }
    body.extend(super::items::contacts_table(&turn.contacts));
    if !turn.flags.is_empty() {
        body.push(Block::Meta(vec![
            t("Flags: "),
            Inline::Code(turn.flags.join(", ").into()),
        ]));
    }
    if !turn.critical.is_empty() {
        body.push(para("Critical findings:"));
        body.push(list(&turn.critical));
    }
    body
}
