//! The extractors on small texts, and the shortcuts against their regexes.

use super::phone_number::{REFERENCE_WORDS, REFERENCE_WORD_MAX};
use super::vanity::may_spell_letters;
use super::*;
use crate::score::verdict::FoundKind;

fn ex(s: &str) -> Vec<(String, FoundKind)> {
    let x = Extractor::new();
    let p = super::super::phrases::Phrases::new(
        std::iter::empty(),
        [
            ("Childline", NAME_CAPITAL),
            ("Shout", 1 | NAME_CAPITAL),
            ("Nummer gegen Kummer", 2 | NAME_CAPITAL),
        ],
        std::iter::empty(),
    );
    let known = |d: &Dial| {
        [
            "999", "112", "116111", "08001111", "85258", "110", "1098", "988", "17", "1929",
        ]
        .contains(&d.digits.as_str())
    };
    let t = Text::new(s);
    x.extract(&t, &p.scan(&t), &known)
        .into_iter()
        .map(|e| (s[e.start..e.end].to_string(), e.kind))
        .collect()
}

fn texts(s: &str) -> Vec<String> {
    ex(s).into_iter().map(|(t, _)| t).collect()
}

#[test]
fn numbers_however_written() {
    assert_eq!(texts("Call 0800 1111 now"), ["0800 1111"]);
    assert_eq!(texts("Call 0800-1111."), ["0800-1111"]);
    assert_eq!(texts("Call 0800.1111"), ["0800.1111"]);
    assert_eq!(texts("Call (0800) 1111"), ["(0800) 1111"]);
    assert_eq!(
        texts("Call +44 800 1111 or 0044 800 1111"),
        ["+44 800 1111", "0044 800 1111"]
    );
    assert_eq!(texts("Call +44 (0)800 1111"), ["+44 (0)800 1111"]);
    assert_eq!(texts("ring (999)"), ["999"]);
    assert_eq!(texts("Call 116 111 / 116 123"), ["116 111", "116 123"]);
}

#[test]
fn short_codes_symbols_letters() {
    assert_eq!(texts("Call 999 or 112"), ["999", "112"]);
    assert_eq!(texts("dial #163"), ["#163"]);
    assert_eq!(texts("call 1-800-4-A-CHILD"), ["1-800-4-A-CHILD"]);
    assert_eq!(texts("call 0800 WHATSUP"), ["0800 WHATSUP"]);
    assert_eq!(texts("Call 0800 1111 NOW"), ["0800 1111"]);
    assert_eq!(texts("すぐに110番に電話して"), ["110"]);
    assert_eq!(texts("appelle le 17"), ["17"]);
    assert_eq!(texts("tengo 17 años"), Vec::<String>::new());
}

#[test]
fn digits_of_any_script() {
    assert_eq!(texts("اتصل بالرقم ٠٨٠٠ ١١١١"), ["٠٨٠٠ ١١١١"]);
    assert_eq!(texts("कॉल करें १०९८"), ["१०९८"]);
    assert_eq!(texts("電話 １１０"), ["１１０"]);
}

#[test]
fn not_contacts() {
    for s in [
        "from 10:30 to 17:00",
        "open 9am-5pm",
        "open 9 am to 5 pm",
        "in 2024 they said",
        "on 12/05/2023",
        "on 2023-05-12",
        "it costs $50 or 10 €",
        "about 15% of kids",
        "3.5 million",
        "1,000 children",
        "open 24/7",
        "ages 13-17",
        "Section 230 says",
        "COVID19",
        "from 2023-2024",
        "you are 14 years old",
    ] {
        assert!(texts(s).is_empty(), "{s}: {:?}", texts(s));
    }
}

#[test]
fn invented_short_numbers_need_a_cue() {
    assert_eq!(texts("call 155 now"), ["155"]);
    assert_eq!(texts("there were 155 calls"), Vec::<String>::new());
    assert_eq!(texts("Childline: 0800 1112"), ["Childline", "0800 1112"]);
}

#[test]
fn sms_and_whatsapp() {
    assert_eq!(
        ex("Text SHOUT to 85258"),
        [("85258".to_string(), FoundKind::Sms)]
    );
    assert_eq!(
        ex("text HOME to 741741"),
        [("741741".to_string(), FoundKind::Sms)]
    );
    assert_eq!(
        ex("envía HOLA al 741741"),
        [("741741".to_string(), FoundKind::Sms)]
    );
    assert_eq!(
        ex("WhatsApp: +55 61 99611-0100"),
        [("+55 61 99611-0100".to_string(), FoundKind::Whatsapp)]
    );
    assert_eq!(ex("https://wa.me/5561996110100")[0].1, FoundKind::Whatsapp);
}

#[test]
fn web_and_email() {
    assert_eq!(
        texts("Visit https://www.childline.org.uk."),
        ["https://www.childline.org.uk"]
    );
    assert_eq!(
        texts("go to childline.org.uk, or email jo@samaritans.org"),
        ["childline.org.uk", "jo@samaritans.org"]
    );
    assert_eq!(
        texts("see kidshelpphone.ca/text"),
        ["kidshelpphone.ca/text"]
    );
    assert!(texts("open notes.txt or help.It or e.g. this").is_empty());
    assert!(texts("report it on instagram.com").is_empty());
    assert_eq!(
        normalise_url("HTTPS://www.Childline.org.uk/"),
        "childline.org.uk"
    );
}

#[test]
fn shortcuts_find_what_the_regexes_find() {
    let x = Extractor::new();
    let phrases = super::super::phrases::Phrases::new(
        std::iter::empty(),
        std::iter::empty(),
        std::iter::empty(),
    );
    let pieces = [
        "a", "B", "k", "Z", "TEXT", "Send", "sms", "ENVÍA", "manda", "ſend", "\u{212a}", ".",
        ".org", ".UK", ".uk", "/", "-", " ", "\u{a0}", "\u{3000}", "\n", "@", "1", "0800", "é",
        "www.", "x.", "ABCD", "CHILD", "4-A", "é-", ".c", "to", "al", "HOME", "\"", "\u{2011}",
        "HELP4", "\u{2013}",
    ];
    let mut state = 0x1234_5678_9abc_def1u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..20_000 {
        let len = (next() % 16) as usize;
        let s: String = (0..len)
            .map(|_| pieces[(next() % pieces.len() as u64) as usize])
            .collect();
        let spans = |ms: Vec<regex::Match>| -> Vec<(usize, usize)> {
            ms.iter().map(|m| (m.start(), m.end())).collect()
        };
        assert_eq!(
            spans(x.domain_matches(&s)),
            spans(x.domain.find_iter(&s).collect()),
            "{s:?}"
        );
        if !may_spell_letters(&s) {
            assert!(x.vanity.find(&s).is_none(), "{s:?}");
        }
        let t = Text::new(&s);
        let hits = phrases.scan(&t);
        for (re, has_word) in [&x.sms_en, &x.sms_es].into_iter().zip(hits.sms_words) {
            if !has_word && (t.is_ascii() || !s.contains('\u{17f}')) {
                assert!(re.find(&s).is_none(), "{s:?}");
            }
        }
    }
}

#[test]
fn reference_word_max_is_the_longest() {
    assert_eq!(
        REFERENCE_WORDS.iter().map(|w| w.len()).max(),
        Some(REFERENCE_WORD_MAX)
    );
}

#[test]
fn names_whole_words() {
    assert_eq!(texts("Talk to Childline today"), ["Childline"]);
    assert_eq!(
        texts("Ruf die Nummer gegen Kummer an"),
        ["Nummer gegen Kummer"]
    );
    assert!(texts("he starts to shout at me").is_empty());
    assert!(texts("childlines").is_empty());
    // a name inside an address is the address
    assert_eq!(texts("childline.org.uk"), ["childline.org.uk"]);
}
