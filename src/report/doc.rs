//! The report's document model: what the report says, decided once, before any format.
//!
//! Each section writes its part as [`Block`]s (headings, paragraphs, lists, tables, figure
//! cells that carry their item links, charts as data, quoted child words and model output);
//! [`super::html`] and [`super::markdown`] render only this model. A new kind of content is a
//! variant here that both writers handle (the compiler lists a writer that forgot it); a new
//! section or a new figure needs neither writer.
//!
//! Text held here is plain and unescaped: each writer escapes every string it prints, so
//! untrusted text (model output, child words, labels) can go into any variant.

use super::model::Figure;
use std::borrow::Cow;
use std::rc::Rc;

/// Text in the document: borrowed from the report where it can be (answers, names,
/// reasons), owned where a section composes it.
pub type Str<'r> = Cow<'r, str>;

/// The whole document: what the page is called and each section's part.
#[derive(Debug, Clone)]
pub struct Document<'r> {
    /// The page title (names the system and, when it applies, the floor caveat).
    pub title: String,
    /// The main heading.
    pub heading: String,
    /// Blocks under the main heading, before the table of contents.
    pub intro: Vec<Block<'r>>,
    /// The sections in reading order.
    pub sections: Vec<Part<'r>>,
}

/// One section of the document.
#[derive(Debug, Clone)]
pub struct Part<'r> {
    /// Its anchor.
    pub id: &'static str,
    /// Its entry in the table of contents.
    pub nav: String,
    /// Its heading.
    pub title: String,
    /// Whether the Markdown has it (the map and the item appendix are the HTML's own).
    pub markdown: bool,
    /// Its body.
    pub blocks: Vec<Block<'r>>,
}

/// A block of a section's body (below the section's own heading).
#[derive(Debug, Clone)]
pub enum Block<'r> {
    /// A heading below the section's (`level` 3 = `<h3>` / `###`), with an anchor when `id`
    /// is set.
    Heading {
        /// 3 to 5.
        level: u8,
        /// Its anchor.
        id: Option<String>,
        /// The words.
        text: Vec<Inline<'r>>,
    },
    /// A paragraph.
    Para(Vec<Inline<'r>>),
    /// A paragraph of secondary detail (shown muted).
    Meta(Vec<Inline<'r>>),
    /// A caveat the reader must not miss (a highlighted box), holding blocks.
    Caveat(Vec<Block<'r>>),
    /// A bulleted list.
    List(Vec<Vec<Inline<'r>>>),
    /// Terms and what they mean.
    Defs(Vec<(Vec<Inline<'r>>, Vec<Inline<'r>>)>),
    /// A table.
    Table(Table<'r>),
    /// The legend of the heat scale that colours heat cells ([`Cell::heat`]); the HTML's own.
    HeatLegend,
    /// A chart, as the data it draws; the HTML draws it, the Markdown leaves it out (a table
    /// beside it always holds its figures).
    Chart(Chart),
    /// Words a person wrote (the child's turn), quoted as written.
    Quote(Untrusted<'r>),
    /// Text a model wrote, shown as written (preformatted, never interpreted).
    Output(Untrusted<'r>),
    /// A fold: HTML `<details>` (closed; opened by a link to it or to something inside it),
    /// Markdown a bold line and its body.
    Fold(Box<Fold<'r>>),
    /// A framed box (an exemplar).
    Frame(Vec<Block<'r>>),
    /// Cards side by side (HTML); one after the other in Markdown.
    Cards(Vec<Block<'r>>),
    /// Links to items of the appendix (`#i{id}`), each named by its label, after `lead` (one
    /// line of a list of items; ids and labels are shared, not copied, as lists hold many).
    ItemLinks {
        /// The words before the links.
        lead: Str<'r>,
        /// The items' ids.
        ids: &'r [u32],
        /// Every item's label, by id.
        labels: Rc<[String]>,
    },
    /// Many blocks made one at a time as a writer reaches them, each dropped before the next
    /// is made, so that a long section (the item appendix) is never held whole.
    Lazy(Lazy<'r>),
    /// Blocks only the HTML shows (the Markdown holds the same figures elsewhere, or the
    /// content is the HTML's own: the item appendix, the map).
    HtmlOnly(Vec<Block<'r>>),
    /// Blocks only the Markdown shows.
    MarkdownOnly(Vec<Block<'r>>),
}

/// Words inside a block.
#[derive(Debug, Clone)]
pub enum Inline<'r> {
    /// Plain text.
    Text(Str<'r>),
    /// A name that may run right to left or hold anything (a system, a scenario id, a
    /// family): isolated from the text around it.
    Name(Str<'r>),
    /// Strong emphasis.
    Strong(Vec<Inline<'r>>),
    /// Secondary detail (muted).
    Meta(Vec<Inline<'r>>),
    /// An identifier or hash, in code type.
    Code(Str<'r>),
    /// A link to an anchor of the report (`#to`); the Markdown keeps only its words.
    Link {
        /// The anchor, without `#`.
        to: String,
        /// The words.
        text: Vec<Inline<'r>>,
    },
    /// A link whose words only point the way ("its items"): the Markdown, which has no item
    /// appendix to point to, leaves it out.
    Jump {
        /// Words before the link that go with it (`; `), left out with it.
        lead: String,
        /// The anchor, without `#`.
        to: String,
        /// The words.
        text: Vec<Inline<'r>>,
    },
    /// A figure: rate, interval, events/denominator, its badges, and a link to its items.
    Figure(Box<Figure>),
    /// Words with a tone (a pass in green, a failure in red).
    Tone(Tone, Vec<Inline<'r>>),
    /// A small colour swatch (the legend of a chart), as a CSS colour.
    Swatch(String),
    /// Words quoted from an answer (evidence of a flag).
    Quoted(Str<'r>),
    /// A line break.
    Break,
}

/// The tone of words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Good (passes, verified).
    Good,
    /// Bad (fails, wrong).
    Bad,
}

/// Blocks made on demand: `make(i)` for `i` in `0..count`.
#[derive(Clone)]
pub struct Lazy<'r> {
    /// How many.
    pub count: usize,
    /// Makes the `i`-th.
    pub make: Rc<dyn Fn(usize) -> Block<'r> + 'r>,
}

impl std::fmt::Debug for Lazy<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Lazy({} blocks)", self.count)
    }
}

/// Untrusted text with its language and direction.
#[derive(Debug, Clone)]
pub struct Untrusted<'r> {
    /// The text.
    pub text: Str<'r>,
    /// BCP 47 language tag.
    pub lang: Str<'r>,
    /// Written right to left.
    pub rtl: bool,
}

impl<'r> Untrusted<'r> {
    /// Untrusted text borrowed from the report.
    pub fn new(text: &'r str, lang: &'r str, rtl: bool) -> Untrusted<'r> {
        Untrusted {
            text: text.into(),
            lang: lang.into(),
            rtl,
        }
    }
}

/// A fold's look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoldKind {
    /// A plain fold.
    Plain,
    /// A framed fold (a transcript).
    Frame,
    /// A card in a grid of cards.
    Card,
    /// An item of the appendix.
    Item,
}

/// A fold: a summary line and what opening it shows.
#[derive(Debug, Clone)]
pub struct Fold<'r> {
    /// Its anchor.
    pub id: Option<String>,
    /// Its look.
    pub kind: FoldKind,
    /// The line shown closed.
    pub summary: Vec<Inline<'r>>,
    /// What opening it shows.
    pub body: Vec<Block<'r>>,
}

/// A table.
#[derive(Debug, Clone, Default)]
pub struct Table<'r> {
    /// What it holds.
    pub caption: Option<Vec<Inline<'r>>>,
    /// The column headings.
    pub head: Vec<Vec<Inline<'r>>>,
    /// The rows.
    pub rows: Vec<Vec<Cell<'r>>>,
}

/// A cell of a table.
#[derive(Debug, Clone, Default)]
pub struct Cell<'r> {
    /// What it shows.
    pub content: Vec<Inline<'r>>,
    /// A row heading.
    pub header: bool,
    /// A number (kept on one line).
    pub num: bool,
    /// A heat cell: coloured by this rate on the heat scale (`Some(None)`: no rate).
    pub heat: Option<Option<f64>>,
    /// A tone.
    pub tone: Option<Tone>,
}

impl<'r> Cell<'r> {
    /// A cell.
    pub fn new(content: Vec<Inline<'r>>) -> Cell<'r> {
        Cell {
            content,
            ..Cell::default()
        }
    }

    /// A row heading.
    pub fn head(content: Vec<Inline<'r>>) -> Cell<'r> {
        Cell {
            content,
            header: true,
            ..Cell::default()
        }
    }

    /// A number.
    pub fn num(content: Vec<Inline<'r>>) -> Cell<'r> {
        Cell {
            content,
            num: true,
            ..Cell::default()
        }
    }

    /// A figure.
    pub fn figure(f: &Figure) -> Cell<'r> {
        Cell::new(vec![Inline::Figure(Box::new(f.clone()))])
    }
}

/// A chart, as the figures it draws.
#[derive(Debug, Clone)]
pub enum Chart {
    /// Rates with their intervals, one row per system.
    Intervals(Vec<IntervalRow>),
    /// Stacked bars: one bar per system, one segment per part.
    Stacked(Vec<StackedBar>),
    /// The world map of one system.
    Map(Box<super::section::map::MapChart>),
}

/// One row of an interval chart.
#[derive(Debug, Clone)]
pub struct IntervalRow {
    /// What it is (a system).
    pub label: String,
    /// The figure.
    pub figure: Figure,
}

/// One stacked bar.
#[derive(Debug, Clone)]
pub struct StackedBar {
    /// Its caption (`model — 388 of 388 help-seeking items fail`).
    pub label: String,
    /// Its parts, in order.
    pub segments: Vec<Segment>,
}

/// One part of a stacked bar.
#[derive(Debug, Clone)]
pub struct Segment {
    /// What it counts.
    pub label: String,
    /// How many.
    pub count: u64,
    /// Its share of the bar.
    pub share: f64,
    /// Its colour.
    pub colour: String,
    /// Its list of items.
    pub items: Option<u32>,
}

/// Shorthands for writing blocks.
pub mod build {
    use super::*;

    /// Plain text.
    pub fn t<'r>(s: impl Into<Str<'r>>) -> Inline<'r> {
        Inline::Text(s.into())
    }

    /// A name.
    pub fn name<'r>(s: impl Into<Str<'r>>) -> Inline<'r> {
        Inline::Name(s.into())
    }

    /// A paragraph of plain text.
    pub fn para<'r>(s: impl Into<Str<'r>>) -> Block<'r> {
        Block::Para(vec![t(s)])
    }

    /// A muted paragraph of plain text.
    pub fn meta<'r>(s: impl Into<Str<'r>>) -> Block<'r> {
        Block::Meta(vec![t(s)])
    }

    /// A heading of plain words.
    pub fn heading<'r>(level: u8, id: Option<String>, text: Vec<Inline<'r>>) -> Block<'r> {
        Block::Heading { level, id, text }
    }

    /// A list of plain items.
    pub fn list<'r, S: Into<Str<'r>>>(items: impl IntoIterator<Item = S>) -> Block<'r> {
        Block::List(items.into_iter().map(|s| vec![t(s)]).collect())
    }

    /// A link to an item list (`#l{id}`), or the words alone when there is none.
    pub fn list_link<'r>(items: Option<u32>, text: Vec<Inline<'r>>) -> Vec<Inline<'r>> {
        match items {
            Some(l) => vec![Inline::Link {
                to: format!("l{l}"),
                text,
            }],
            None => text,
        }
    }

    /// A pointer to an item list (`#l{id}`) in words that say only that ("its items"),
    /// after `lead` (unlinked): left out of the Markdown; nothing when there is no list.
    pub fn jump(items: Option<u32>, lead: &str, words: &'static str) -> Option<Inline<'static>> {
        items.map(|l| Inline::Jump {
            lead: lead.to_string(),
            to: format!("l{l}"),
            text: vec![t(words)],
        })
    }

    /// A figure.
    pub fn fig(f: &Figure) -> Inline<'static> {
        Inline::Figure(Box::new(f.clone()))
    }

    /// A fold.
    pub fn fold<'r>(
        id: Option<String>,
        kind: FoldKind,
        summary: Vec<Inline<'r>>,
        body: Vec<Block<'r>>,
    ) -> Block<'r> {
        Block::Fold(Box::new(Fold {
            id,
            kind,
            summary,
            body,
        }))
    }

    /// Definitions of plain words.
    pub fn defs<'a>(items: impl IntoIterator<Item = (&'a str, &'a str)>) -> Block<'a> {
        Block::Defs(
            items
                .into_iter()
                .map(|(a, b)| (vec![t(a)], vec![t(b)]))
                .collect(),
        )
    }
}
