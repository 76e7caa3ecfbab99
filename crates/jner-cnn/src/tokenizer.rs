//! An English tokenizer with prefix/suffix/infix rules in spaCy's spirit, tuned for
//! clinical text, working in **byte** offsets and without per-token allocation.
//!
//! 1. The text is split into runs of separators (Unicode whitespace and control characters)
//!    and non-separators. A run that is exactly one ASCII space is dropped (it is the usual
//!    gap between words); every other separator run (newlines, tabs, two spaces, control
//!    characters) becomes a *space token* (`is_space`), so the encoder can see line breaks.
//!    Entities never start or end on a space token.
//! 2. Each non-separator chunk: kept whole if it is an exception (`e.g.`, `i.e.`, `Dr.`,
//!    `b.i.d.` …) or a URL/e-mail; otherwise prefixes are stripped (opening brackets and
//!    quotes, currency, `#`, `§`, ellipses …), then suffixes (closing brackets and quotes,
//!    `, ; : ! ? %`, clitics `n't 's 're 'll 've 'd 'm`, degree units `°C`, units after a
//!    number `10mg` → `10` `mg`, a final `.` unless the rest is an abbreviation such as `U.S`
//!    or an initial), and the middle is split at infixes (hyphens between a letter/digit and
//!    a letter or between digits — so `3-month-old` → `3 - month - old` while `IL-6` and
//!    `COVID-19` stay whole —, `/` next to letters, `,` and `:` not between digits, `.`
//!    between a lower-case and an upper-case letter, brackets, `=`, `<`, `>`, `°` …).
//!
//! For training, [`split_at_boundaries`] additionally splits tokens at gold span
//! boundaries so that no gold span is ever lost.

/// A token: `text[start..end]` (byte offsets); `is_space` for separator runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    pub start: usize,
    pub end: usize,
    pub is_space: bool,
}

impl Token {
    pub fn text<'a>(&self, text: &'a str) -> &'a str {
        &text[self.start..self.end]
    }
}

/// The English tokenizer (stateless; cheap to copy).
#[derive(Clone, Copy, Debug, Default)]
pub struct Tokenizer;

const ABBREVIATIONS: &[&str] = &[
    "e.g.", "i.e.", "etc.", "vs.", "viz.", "cf.", "al.", "a.m.", "p.m.", "dr.", "mr.", "mrs.",
    "ms.", "st.", "jr.", "sr.", "prof.", "approx.", "fig.", "figs.", "no.", "inc.", "ltd.", "co.",
    "dept.", "u.s.", "u.k.", "b.i.d.", "t.i.d.", "q.i.d.", "q.d.", "p.o.", "i.v.", "i.m.", "s.c.",
    "p.r.n.", "q.h.s.", "h.s.", "yrs.", "mos.", "wk.", "wks.", "hr.", "hrs.", "min.", "mins.",
    "sec.", "max.", "temp.", "resp.", "jan.", "feb.", "mar.", "apr.", "jun.", "jul.", "aug.",
    "sep.", "sept.", "oct.", "nov.", "dec.", "'s", "'re", "'ll", "'ve", "'d", "'m", "n't",
];

/// Units split off a preceding number (`10mg` → `10`, `mg`), longest first within a prefix.
const UNITS: &[&str] = &[
    "mg/dL", "mg/dl", "g/dL", "g/dl", "mmol/L", "mmol/l", "mEq/L", "mL/min", "ml/min", "kg/m2",
    "kg/m²", "mmHg", "mcg", "µg", "μg", "mg", "kg", "ml", "mL", "cm", "mm", "km", "mmol", "mEq",
    "IU", "bpm", "hrs", "hr", "hours", "h", "min", "mins", "sec", "wks", "wk", "weeks", "yrs",
    "yr", "yo", "mo", "months", "days", "d", "g", "l", "L", "m", "s", "x", "U", "lbs", "lb", "oz",
    "in", "ft", "cc", "µm", "μm", "nm", "%", "cm²", "m²",
];

fn is_sep(c: char) -> bool {
    c.is_whitespace() || c.is_control()
}

fn is_icon(c: char) -> bool {
    matches!(
        c,
        '°' | '©'
            | '®'
            | '™'
            | '→'
            | '←'
            | '↑'
            | '↓'
            | '•'
            | '·'
            | '✓'
            | '✔'
            | '★'
            | '♥'
            | '§'
            | '¶'
            | '†'
            | '‡'
    ) || (c as u32) >= 0x1F000
}

fn is_prefix_char(c: char) -> bool {
    matches!(
        c,
        '(' | '['
            | '{'
            | '<'
            | '"'
            | '\''
            | '`'
            | '“'
            | '‘'
            | '«'
            | '‹'
            | '¿'
            | '¡'
            | '$'
            | '£'
            | '€'
            | '¥'
            | '#'
            | '*'
            | '&'
            | '%'
            | '='
            | '—'
            | '–'
            | '~'
            | ','
            | ':'
            | ';'
            | '!'
            | '?'
            | '…'
            | '„'
            | '>'
            | '_'
            | '|'
    ) || is_icon(c)
}

fn is_suffix_char(c: char) -> bool {
    matches!(
        c,
        ')' | ']'
            | '}'
            | '>'
            | '"'
            | '\''
            | '`'
            | '”'
            | '’'
            | '»'
            | '›'
            | ','
            | ':'
            | ';'
            | '!'
            | '?'
            | '…'
            | '%'
            | '*'
            | '—'
            | '–'
            | '_'
            | '|'
    ) || is_icon(c)
}

fn is_infix_char(c: char) -> bool {
    matches!(
        c,
        '(' | ')'
            | '['
            | ']'
            | '{'
            | '}'
            | ';'
            | '!'
            | '?'
            | '"'
            | '“'
            | '”'
            | '='
            | '<'
            | '>'
            | '≤'
            | '≥'
            | '±'
            | '…'
            | '|'
            | '^'
            | '~'
            | '—'
            | '–'
            | '‘'
            | '«'
            | '»'
    ) || is_icon(c)
}

fn eq_ignore_case(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.eq_ignore_ascii_case(b)
}

fn is_exception(w: &str) -> bool {
    if w.len() > 8 {
        return false;
    }
    let apostrophe_norm = |x: &str| x.replace('’', "'");
    if w.contains('’') {
        let n = apostrophe_norm(w);
        return ABBREVIATIONS.iter().any(|a| eq_ignore_case(a, &n));
    }
    ABBREVIATIONS.iter().any(|a| eq_ignore_case(a, w))
}

fn looks_like_url(w: &str) -> bool {
    w.len() > 4 && w.contains("://")
        || w.starts_with("www.")
        || (w.contains('@') && w.contains('.') && !w.starts_with('@'))
}

fn first_char(w: &str) -> Option<char> {
    w.chars().next()
}
fn last_char(w: &str) -> Option<char> {
    w.chars().next_back()
}

/// Letters and dots only, at least one dot, letter groups of at most two (`U.S`, `b.i.d`).
fn is_dotted_abbrev(w: &str) -> bool {
    if !w.contains('.') {
        return false;
    }
    let mut run = 0;
    for c in w.chars() {
        if c == '.' {
            if run == 0 {
                return false;
            }
            run = 0;
        } else if c.is_alphabetic() {
            run += 1;
            if run > 2 {
                return false;
            }
        } else {
            return false;
        }
    }
    true
}

fn prefix_len(w: &str) -> Option<usize> {
    let c = first_char(w)?;
    if w.starts_with("..") {
        let n = w.bytes().take_while(|&b| b == b'.').count();
        return Some(n);
    }
    if c == '+' {
        let next = w[1..].chars().next();
        return if next.is_some_and(|n| n.is_ascii_digit()) {
            None
        } else {
            Some(1)
        };
    }
    if is_prefix_char(c) {
        return Some(c.len_utf8());
    }
    None
}

fn suffix_len(w: &str) -> Option<usize> {
    let c = last_char(w)?;
    let n = w.len();
    if w.ends_with("..") {
        let k = w.bytes().rev().take_while(|&b| b == b'.').count();
        return Some(k);
    }
    // clitics
    for cl in ["n't", "n’t"] {
        if n > cl.len()
            && w.is_char_boundary(n - cl.len())
            && w[n - cl.len()..].eq_ignore_ascii_case(cl)
        {
            return Some(cl.len());
        }
    }
    for cl in [
        "'s", "'re", "'ll", "'ve", "'d", "'m", "’s", "’re", "’ll", "’ve", "’d", "’m",
    ] {
        if n > cl.len() && w.is_char_boundary(n - cl.len()) {
            let tail = &w[n - cl.len()..];
            if tail.eq_ignore_ascii_case(cl)
                && w[..n - cl.len()]
                    .chars()
                    .next_back()
                    .is_some_and(|p| p.is_alphabetic())
            {
                return Some(cl.len());
            }
        }
    }
    // degrees: 38.5°C
    for deg in ["°C", "°F", "°K", "°c", "°f", "°"] {
        if n > deg.len() && w.ends_with(deg) {
            let before = w[..n - deg.len()].chars().next_back();
            if before.is_some_and(|p| p.is_ascii_digit()) {
                return Some(deg.len());
            }
        }
    }
    if c == '.' {
        if n == 1 {
            return None;
        }
        let rest = &w[..n - 1];
        let single_letter = rest.chars().count() == 1 && rest.chars().all(|x| x.is_alphabetic());
        if single_letter || is_dotted_abbrev(rest) {
            return None;
        }
        return Some(1);
    }
    if is_suffix_char(c) {
        return Some(c.len_utf8());
    }
    // units after a number
    if c.is_alphabetic() || c == '%' || c == '²' || c.is_ascii_digit() {
        let mut best = 0;
        for u in UNITS {
            if u.len() > best && n > u.len() && w.ends_with(u) && w.is_char_boundary(n - u.len()) {
                let before = w[..n - u.len()].chars().next_back();
                if before.is_some_and(|p| p.is_ascii_digit())
                    && w[..n - u.len()]
                        .chars()
                        .all(|x| x.is_ascii_digit() || x == '.' || x == ',')
                {
                    best = u.len();
                }
            }
        }
        if best > 0 {
            return Some(best);
        }
    }
    None
}

impl Tokenizer {
    pub fn new() -> Self {
        Tokenizer
    }

    /// Tokens of `text`, in order, covering every non-separator byte.
    pub fn tokenize(&self, text: &str) -> Vec<Token> {
        let mut out = Vec::with_capacity(text.len() / 4 + 1);
        self.tokenize_into(text, &mut out);
        out
    }

    /// Like [`Tokenizer::tokenize`] but appends to a reusable buffer (cleared first).
    pub fn tokenize_into(&self, text: &str, out: &mut Vec<Token>) {
        out.clear();
        let mut iter = text.char_indices().peekable();
        while let Some(&(i, c)) = iter.peek() {
            if is_sep(c) {
                let mut j = i;
                while let Some(&(k, d)) = iter.peek() {
                    if !is_sep(d) {
                        break;
                    }
                    j = k + d.len_utf8();
                    iter.next();
                }
                if !(j == i + 1 && c == ' ') {
                    out.push(Token {
                        start: i,
                        end: j,
                        is_space: true,
                    });
                }
            } else {
                let mut j = i;
                while let Some(&(k, d)) = iter.peek() {
                    if is_sep(d) {
                        break;
                    }
                    j = k + d.len_utf8();
                    iter.next();
                }
                push_chunk(text, i, j, out);
            }
        }
    }
}

fn push_word(out: &mut Vec<Token>, start: usize, end: usize) {
    if start < end {
        out.push(Token {
            start,
            end,
            is_space: false,
        });
    }
}

fn push_chunk(text: &str, mut s: usize, mut e: usize, out: &mut Vec<Token>) {
    const MAX_SUFFIXES: usize = 16;
    let mut suffixes = [(0usize, 0usize); MAX_SUFFIXES];
    let mut n_suf = 0;
    let mut whole = false;
    while s < e {
        let w = &text[s..e];
        if is_exception(w) {
            whole = true;
            break;
        }
        if looks_like_url(w) {
            break;
        }
        match prefix_len(w) {
            Some(k) if k < w.len() => {
                push_word(out, s, s + k);
                s += k;
            }
            _ => break,
        }
    }
    while !whole && s < e && n_suf < MAX_SUFFIXES {
        let w = &text[s..e];
        if is_exception(w) {
            whole = true;
            break;
        }
        if looks_like_url(w) {
            // a URL keeps everything but trailing closing punctuation
            match last_char(w) {
                Some(c) if c != '/' && (is_suffix_char(c) || c == '.') => {
                    let k = c.len_utf8();
                    suffixes[n_suf] = (e - k, e);
                    n_suf += 1;
                    e -= k;
                    continue;
                }
                _ => {
                    whole = true;
                    break;
                }
            }
        }
        match suffix_len(w) {
            Some(k) if k < w.len() => {
                suffixes[n_suf] = (e - k, e);
                n_suf += 1;
                e -= k;
            }
            _ => break,
        }
    }
    if s < e {
        if whole {
            push_word(out, s, e);
        } else {
            push_infixed(text, s, e, out);
        }
    }
    for &(a, b) in suffixes[..n_suf].iter().rev() {
        push_word(out, a, b);
    }
}

fn push_infixed(text: &str, s: usize, e: usize, out: &mut Vec<Token>) {
    let w = &text[s..e];
    let mut cur = s;
    let mut prev: Option<char> = None;
    let mut chars = w.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let next = chars.peek().map(|&(_, d)| d);
        let at = s + i;
        let split = if at == s || next.is_none() {
            // first/last char: only standalone infix characters split
            is_infix_char(c) && w.len() > c.len_utf8()
        } else {
            let p = prev.unwrap_or(' ');
            let n = next.unwrap_or(' ');
            match c {
                '-' => {
                    (p.is_alphanumeric() && n.is_alphabetic())
                        || (p.is_ascii_digit() && n.is_ascii_digit())
                        || n == '-'
                        || p == '-'
                }
                '/' => {
                    (p.is_alphanumeric() && n.is_alphabetic())
                        || (p.is_alphabetic() && n.is_alphanumeric())
                }
                ':' | ',' => !(p.is_ascii_digit() && n.is_ascii_digit()),
                '.' => p.is_lowercase() && n.is_uppercase(),
                '+' | '*' => p.is_ascii_digit() && n.is_ascii_digit(),
                _ => is_infix_char(c),
            }
        };
        if split {
            push_word(out, cur, at);
            push_word(out, at, at + c.len_utf8());
            cur = at + c.len_utf8();
        }
        prev = Some(c);
    }
    push_word(out, cur, e);
}

/// Split tokens at the given byte offsets (sorted or not; offsets not on a character
/// boundary or not strictly inside a token are ignored). Returns how many original tokens
/// had to be split.
pub fn split_at_boundaries(text: &str, tokens: &mut Vec<Token>, boundaries: &[usize]) -> usize {
    let mut bs: Vec<usize> = boundaries
        .iter()
        .copied()
        .filter(|&b| b <= text.len() && text.is_char_boundary(b))
        .collect();
    bs.sort_unstable();
    bs.dedup();
    if bs.is_empty() {
        return 0;
    }
    let mut out = Vec::with_capacity(tokens.len() + bs.len());
    let mut n_split = 0;
    let mut bi = 0;
    for t in tokens.iter() {
        while bi < bs.len() && bs[bi] <= t.start {
            bi += 1;
        }
        let mut cur = t.start;
        let mut did = false;
        let mut k = bi;
        while k < bs.len() && bs[k] < t.end {
            out.push(Token {
                start: cur,
                end: bs[k],
                is_space: t.is_space,
            });
            cur = bs[k];
            did = true;
            k += 1;
        }
        out.push(Token {
            start: cur,
            end: t.end,
            is_space: t.is_space,
        });
        if did {
            n_split += 1;
        }
    }
    *tokens = out;
    n_split
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(text: &str) -> Vec<&str> {
        Tokenizer::new()
            .tokenize(text)
            .iter()
            .map(|t| t.text(text))
            .collect()
    }

    #[test]
    fn clinical_cases() {
        assert_eq!(toks("3-month-old"), ["3", "-", "month", "-", "old"]);
        assert_eq!(toks("IL-6"), ["IL-6"]);
        assert_eq!(toks("COVID-19 patients"), ["COVID-19", "patients"]);
        assert_eq!(toks("38.5°C"), ["38.5", "°C"]);
        assert_eq!(toks("38.5°C."), ["38.5", "°C", "."]);
        assert_eq!(toks("(fever)"), ["(", "fever", ")"]);
        assert_eq!(toks("e.g."), ["e.g."]);
        assert_eq!(
            toks("e.g. fever, cough."),
            ["e.g.", "fever", ",", "cough", "."]
        );
        assert_eq!(toks("don't"), ["do", "n't"]);
        assert_eq!(toks("can't"), ["ca", "n't"]);
        assert_eq!(toks("patient's"), ["patient", "'s"]);
        assert_eq!(toks("10mg daily"), ["10", "mg", "daily"]);
        assert_eq!(toks("BP=120/80 mmHg"), ["BP", "=", "120/80", "mmHg"]);
        assert_eq!(toks("mg/dL"), ["mg", "/", "dL"]);
        assert_eq!(toks("U.S. and Dr. Smith"), ["U.S.", "and", "Dr.", "Smith"]);
        assert_eq!(toks("end.Start"), ["end", ".", "Start"]);
        assert_eq!(toks("1,000 and 3.5"), ["1,000", "and", "3.5"]);
        assert_eq!(toks("\"quoted\""), ["\"", "quoted", "\""]);
        assert_eq!(
            toks("see https://x.org/a."),
            ["see", "https://x.org/a", "."]
        );
    }

    #[test]
    fn whitespace_and_controls() {
        assert!(Tokenizer::new().tokenize("").is_empty());
        let t = Tokenizer::new().tokenize("a  b\n\nc d");
        let texts: Vec<_> = t
            .iter()
            .map(|x| (x.text("a  b\n\nc d"), x.is_space))
            .collect();
        assert_eq!(
            texts,
            [
                ("a", false),
                ("  ", true),
                ("b", false),
                ("\n\n", true),
                ("c", false),
                ("d", false)
            ]
        );
        let s = "ab\u{0}cd\u{7}";
        let t = Tokenizer::new().tokenize(s);
        assert_eq!(t.len(), 4);
        assert!(t[1].is_space && t[3].is_space);
        assert_eq!(toks("   "), ["   "]);
        assert_eq!(toks(" "), Vec::<&str>::new());
    }

    #[test]
    fn non_ascii() {
        assert_eq!(
            toks("naïve café–bar ≥5 μg"),
            ["naïve", "café", "–", "bar", "≥", "5", "μg"]
        );
        assert_eq!(toks("5μg"), ["5", "μg"]);
        assert_eq!(toks("日本語テキスト。"), ["日本語テキスト。"]);
        assert_eq!(toks("fever🙂"), ["fever", "🙂"]);
        // tokens always cover valid char boundaries and are in order
        let text = "Ünïcödé «quotes» — 10 µg/kg… ok?!";
        let t = Tokenizer::new().tokenize(text);
        let mut last = 0;
        for tok in &t {
            assert!(tok.start >= last && tok.start < tok.end);
            assert!(text.is_char_boundary(tok.start) && text.is_char_boundary(tok.end));
            last = tok.end;
        }
    }

    #[test]
    fn covers_all_non_separator_bytes() {
        let text = "He said: \"3-month-old (IL-6) 38.5°C, e.g. x\ty\u{1}z\" ok.";
        let t = Tokenizer::new().tokenize(text);
        let mut covered = vec![false; text.len()];
        for tok in &t {
            for c in covered.iter_mut().take(tok.end).skip(tok.start) {
                *c = true;
            }
        }
        for (i, c) in text.char_indices() {
            if c != ' ' {
                assert!(covered[i], "byte {i} ({c:?}) not covered");
            }
        }
    }

    #[test]
    fn gold_boundary_split() {
        let text = "hypertension-related 3-month-old";
        let mut t = Tokenizer::new().tokenize(text);
        // "hypertension" is already separate from "-" by the infix rule; split "month" at 2
        let b = text.find("month").unwrap() + 2;
        let n = split_at_boundaries(text, &mut t, &[0, 12, b, text.len()]);
        assert_eq!(n, 1);
        let texts: Vec<_> = t.iter().map(|x| x.text(text)).collect();
        assert_eq!(
            texts,
            [
                "hypertension",
                "-",
                "related",
                "3",
                "-",
                "mo",
                "nth",
                "-",
                "old"
            ]
        );
        // a boundary inside a multi-byte char is ignored
        let text = "aμb";
        let mut t = Tokenizer::new().tokenize(text);
        assert_eq!(split_at_boundaries(text, &mut t, &[2]), 0);
        assert_eq!(split_at_boundaries(text, &mut t, &[1]), 1);
        assert_eq!(t.len(), 2);
    }
}
