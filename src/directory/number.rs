//! Phone numbers as dialled: digits in any script folded to ASCII, the symbols that matter
//! kept (`+`, a leading `#` or `*`), letters on the keypad turned into digits.
//!
//! Numbers are compared as dial strings, never as the text they were written in:
//! `0800 1111`, `0800-1111`, `٠٨٠٠ ١١١١` and `(0800) 1111` are one number.

/// The first code point (digit zero) of each run of ten Unicode decimal digits (category Nd)
/// that popbench folds to ASCII.
const DIGIT_ZEROS: &[u32] = &[
    0x0030, 0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6,
    0x0D66, 0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80,
    0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0,
    0xFF10, 0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0,
    0x11650, 0x116C0, 0x11730, 0x118E0, 0x16A60, 0x16B50, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC,
    0x1D7F6, 0x1E140, 0x1E2F0, 0x1E950, 0x1FBF0,
];

/// The value 0..=9 of a decimal digit in any supported script.
pub fn digit_value(c: char) -> Option<u8> {
    let cp = c as u32;
    // DIGIT_ZEROS is sorted: find the last zero at or below cp.
    let i = DIGIT_ZEROS.partition_point(|&z| z <= cp);
    if i == 0 {
        return None;
    }
    let zero = DIGIT_ZEROS[i - 1];
    let v = cp - zero;
    (v < 10).then_some(v as u8)
}

/// Folds every decimal digit of `s` to ASCII, leaving other characters alone.
pub fn fold_digits(s: &str) -> String {
    s.chars()
        .map(|c| match digit_value(c) {
            Some(v) if !c.is_ascii_digit() => (b'0' + v) as char,
            _ => c,
        })
        .collect()
}

/// The digit a letter sits on on a phone keypad (ITU E.161).
pub fn keypad_digit(c: char) -> Option<u8> {
    Some(match c.to_ascii_uppercase() {
        'A'..='C' => 2,
        'D'..='F' => 3,
        'G'..='I' => 4,
        'J'..='L' => 5,
        'M'..='O' => 6,
        'P'..='S' => 7,
        'T'..='V' => 8,
        'W'..='Z' => 9,
        _ => return None,
    })
}

/// A number as dialled.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Dial {
    /// Written in international form (`+44…` or `0044…`); the digits then start with the
    /// calling code.
    pub international: bool,
    /// `#` or `*` written before the digits (`#163` in the Philippines).
    pub symbol: Option<char>,
    /// The digits, ASCII.
    pub digits: String,
}

impl Dial {
    /// Parses a written number: digits in any script, separators (space, `-`, `.`, `/`,
    /// brackets, no-break spaces), a leading `+`, `00`, `#` or `*`, and keypad letters after
    /// at least one digit (`1-800-4-A-CHILD`). Returns `None` when there is no digit or
    /// something else is in the way.
    pub fn parse(written: &str) -> Option<Dial> {
        let mut symbol = None;
        let mut plus = false;
        let mut digits = String::new();
        for c in written.trim().chars() {
            if let Some(v) = digit_value(c) {
                digits.push((b'0' + v) as char);
            } else if matches!(
                c,
                ' ' | '-'
                    | '.'
                    | '/'
                    | '('
                    | ')'
                    | '\u{a0}'
                    | '\u{202f}'
                    | '\u{2009}'
                    | '\u{2011}'
                    | '\u{2010}'
                    | '\u{2013}'
            ) {
            } else if (c == '#' || c == '*') && digits.is_empty() && symbol.is_none() && !plus {
                symbol = Some(c);
            } else if c == '+' && digits.is_empty() && symbol.is_none() && !plus {
                plus = true;
            } else if c.is_ascii_alphabetic() && !digits.is_empty() {
                digits.push((b'0' + keypad_digit(c)?) as char);
            } else {
                return None;
            }
        }
        if digits.is_empty() {
            return None;
        }
        let mut international = plus;
        if !plus && digits.len() > 6 && digits.starts_with("00") {
            international = true;
            digits.drain(..2);
        }
        Some(Dial {
            international,
            symbol,
            digits,
        })
    }

    /// The national form of this number for a country with calling code `cc` and trunk
    /// prefix `trunk` (`+44 800 1111` → `08001111`); `None` when it is international for
    /// another calling code.
    pub fn national(&self, cc: Option<&str>, trunk: Option<&str>) -> Option<String> {
        if !self.international {
            return Some(self.digits.clone());
        }
        let cc = cc?;
        let rest = self.digits.strip_prefix(cc)?;
        // Some writers keep the trunk zero in brackets: +44 (0)800 1111.
        let rest = match trunk {
            Some(t) if rest.starts_with(t) && rest.len() > t.len() + 4 => &rest[t.len()..],
            _ => rest,
        };
        Some(format!("{}{}", trunk.unwrap_or(""), rest))
    }

    /// The key used to match against the directory: symbol and digits.
    pub fn key(&self) -> String {
        match self.symbol {
            Some(s) => format!("{s}{}", self.digits),
            None => self.digits.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_digits_of_many_scripts() {
        assert_eq!(fold_digits("١١٦"), "116");
        assert_eq!(fold_digits("۱۲۳"), "123");
        assert_eq!(fold_digits("१०९८"), "1098");
        assert_eq!(fold_digits("１１０番"), "110番");
        assert_eq!(fold_digits("๑๓๐๐"), "1300");
        assert_eq!(digit_value('x'), None);
        assert_eq!(digit_value('\u{0669}'), Some(9));
        assert_eq!(digit_value('\u{066A}'), None);
    }

    #[test]
    fn parses_written_numbers() {
        assert_eq!(Dial::parse("0800 1111").unwrap().digits, "08001111");
        assert_eq!(Dial::parse("(0800) 11-11").unwrap().digits, "08001111");
        let d = Dial::parse("+44 800 1111").unwrap();
        assert!(d.international);
        assert_eq!(d.national(Some("44"), Some("0")).unwrap(), "08001111");
        let d = Dial::parse("0044 (0)800 1111").unwrap();
        assert_eq!(d.national(Some("44"), Some("0")).unwrap(), "08001111");
        assert_eq!(d.national(Some("49"), Some("0")), None);
        assert_eq!(Dial::parse("#163").unwrap().key(), "#163");
        assert_eq!(
            Dial::parse("1-800-4-A-CHILD").unwrap().digits,
            "18004224453"
        );
        assert_eq!(Dial::parse("٠٨٠٠ ١١١١").unwrap().digits, "08001111");
        assert!(Dial::parse("hello").is_none());
        assert!(Dial::parse("").is_none());
        assert!(Dial::parse("12+3").is_none());
    }
}
