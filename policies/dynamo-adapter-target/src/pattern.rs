//! What a label matcher's regex can match, decided on its syntax tree (regex-syntax's AST, which needs
//! no Unicode tables), never by trying strings:
//! - [`Analysis::literals`]: the strings a regex of literals, alternations and groups matches, Prometheus
//!   anchoring it at both ends; anything else (classes, `.`, repetitions, flags such as `(?i)`, word
//!   boundaries) is open.
//! - [`dynamo_names`]: whether a `__name__` regex can match a Dynamo metric name, a frontend's
//!   (`dynamo_frontend_*`) or another (`dynamo_*`, `kvstats_*`). What it cannot model exactly it
//!   over-approximates: the answer is "no" only when no name of the kind can match.
//!
//! Prometheus compiles label regexes with Go's RE2 syntax; Rust's is a superset in a few places (class
//! set operations, nested classes, `\<`). Where the two could read a regex differently, the analysis
//! answers for both readings: such regexes are open, and their classes may hold any character.

use std::collections::BTreeSet;

use regex_syntax::ast::parse::ParserBuilder;
use regex_syntax::ast::{
    self, AssertionKind, Ast, ClassAsciiKind, ClassPerlKind, ClassSet, ClassSetItem, Flag,
    FlagsItemKind, GroupKind, RepetitionKind, RepetitionRange,
};

use crate::scope::Names;

/// The deepest nesting of groups, classes and repetitions analysed (the walks below recurse).
const NEST_LIMIT: u32 = 64;
/// The most strings a regex of literals may stand for before it counts as open.
pub const MAX_LITERALS: usize = 64;

/// What a regex can match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analysis {
    /// The strings it matches, anchored at both ends, when it is made of literals, alternations, groups
    /// and the anchors `^`, `$`, `\A`, `\z` (at most [`MAX_LITERALS`] of them); `None`: open.
    pub literals: Option<BTreeSet<String>>,
    /// Whether it may match case-insensitively (`(?i)`), which regex-lite does for ASCII only (Go folds
    /// `K` and `ſ` too): its answer for non-ASCII text is then not trusted.
    pub folds_case: bool,
}

/// The syntax tree of `pattern`, `None` when regex-syntax does not read it.
fn parse(pattern: &str) -> Option<Ast> {
    ParserBuilder::new()
        .nest_limit(NEST_LIMIT)
        .build()
        .parse(pattern)
        .ok()
}

/// Analyses `pattern`. A regex regex-syntax does not read is open and may fold case.
pub fn analyse(pattern: &str) -> Analysis {
    let Some(ast) = parse(pattern) else {
        return Analysis {
            literals: None,
            folds_case: true,
        };
    };
    let literals = expand(&ast).map(|sequences| {
        sequences
            .iter()
            .filter_map(|sequence| anchored(sequence))
            .collect()
    });
    Analysis {
        literals,
        folds_case: folds_case(&ast),
    }
}

/// An element of a literal regex: a character, or an anchor at the start or the end of the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sym {
    Char(char),
    Start,
    End,
}

/// The sequences `ast` matches, when it is built of literals, alternations, groups without flags and
/// text anchors only, and they are at most [`MAX_LITERALS`].
fn expand(ast: &Ast) -> Option<Vec<Vec<Sym>>> {
    match ast {
        Ast::Empty(_) => Some(vec![Vec::new()]),
        Ast::Literal(literal) => Some(vec![vec![Sym::Char(literal.c)]]),
        // No flag is set (that is open), so `^` and `$` anchor the text, as `\A` and `\z` do.
        Ast::Assertion(assertion) => match assertion.kind {
            AssertionKind::StartLine | AssertionKind::StartText => Some(vec![vec![Sym::Start]]),
            AssertionKind::EndLine | AssertionKind::EndText => Some(vec![vec![Sym::End]]),
            _ => None,
        },
        Ast::Group(group) => match &group.kind {
            GroupKind::NonCapturing(flags) if !flags.items.is_empty() => None,
            _ => expand(&group.ast),
        },
        Ast::Alternation(alternation) => {
            let mut all = Vec::new();
            for branch in &alternation.asts {
                all.extend(expand(branch)?);
                if all.len() > MAX_LITERALS {
                    return None;
                }
            }
            Some(all)
        }
        Ast::Concat(concat) => {
            let mut product = vec![Vec::new()];
            for item in &concat.asts {
                let next = expand(item)?;
                if let [one] = next.as_slice() {
                    for sequence in &mut product {
                        sequence.extend_from_slice(one);
                    }
                    continue;
                }
                if product.len().saturating_mul(next.len()) > MAX_LITERALS {
                    return None;
                }
                product = product
                    .iter()
                    .flat_map(|head| next.iter().map(move |tail| [&head[..], tail].concat()))
                    .collect();
            }
            Some(product)
        }
        Ast::Flags(_)
        | Ast::Dot(_)
        | Ast::ClassUnicode(_)
        | Ast::ClassPerl(_)
        | Ast::ClassBracketed(_)
        | Ast::Repetition(_) => None,
    }
}

/// The string a sequence matches, if its anchors can hold: every start anchor before its first
/// character, every end anchor after its last (`a^b` matches nothing).
fn anchored(sequence: &[Sym]) -> Option<String> {
    let is_char = |sym: &Sym| matches!(sym, Sym::Char(_));
    let first = sequence.iter().position(is_char).unwrap_or(sequence.len());
    let after_last = sequence
        .iter()
        .rposition(is_char)
        .map_or(0, |last| last + 1);
    let misplaced = sequence.iter().enumerate().any(|(index, sym)| match sym {
        Sym::Start => index > first,
        Sym::End => index < after_last,
        Sym::Char(_) => false,
    });
    if misplaced {
        return None;
    }
    Some(
        sequence
            .iter()
            .filter_map(|sym| match sym {
                Sym::Char(c) => Some(*c),
                Sym::Start | Sym::End => None,
            })
            .collect(),
    )
}

/// Whether a flag group of `ast` turns case-insensitive matching on.
fn folds_case(ast: &Ast) -> bool {
    let sets = |flags: &ast::Flags| {
        let mut negated = false;
        flags.items.iter().any(|item| match item.kind {
            FlagsItemKind::Negation => {
                negated = true;
                false
            }
            FlagsItemKind::Flag(Flag::CaseInsensitive) => !negated,
            FlagsItemKind::Flag(_) => false,
        })
    };
    match ast {
        Ast::Flags(set) => sets(&set.flags),
        Ast::Group(group) => {
            matches!(&group.kind, GroupKind::NonCapturing(flags) if sets(flags))
                || folds_case(&group.ast)
        }
        Ast::Repetition(repetition) => folds_case(&repetition.ast),
        Ast::Alternation(alternation) => alternation.asts.iter().any(folds_case),
        Ast::Concat(concat) => concat.asts.iter().any(folds_case),
        Ast::Empty(_)
        | Ast::Literal(_)
        | Ast::Dot(_)
        | Ast::Assertion(_)
        | Ast::ClassUnicode(_)
        | Ast::ClassPerl(_)
        | Ast::ClassBracketed(_) => false,
    }
}

// --- Dynamo metric names ------------------------------------------------------------------------------
//
// A small deterministic automaton reads a name and tells whether it is a Dynamo frontend metric
// (`dynamo_frontend_*`) or another Dynamo metric (other `dynamo_*`, `kvstats_*`). The regex is read as a
// relation over the automaton's states: (p, q) when some string the regex matches leads from p to q.
// Concatenation composes relations, alternation unites them, repetition takes powers and closures. The
// names the regex can match reach, from the start state, the states that classify them.

/// `dynamo_`, then `frontend_` after it; `kvstats_`.
const DYNAMO: &[u8] = b"dynamo_";
const FRONTEND: &[u8] = b"frontend_";
const KVSTATS: &[u8] = b"kvstats_";
/// States: 0 the start; 1..=7 `d` to `dynamo_`; 8..=15 `k` to `kvstats_`; 16..=24 `dynamo_f` to
/// `dynamo_frontend_`; then three sinks.
const STATES: usize = 28;
const AFTER_DYNAMO: usize = 7;
const KVSTATS_START: usize = 8;
const AFTER_KVSTATS: usize = 15;
const FRONTEND_START: usize = 16;
const AFTER_FRONTEND: usize = 24;
const DEAD: usize = 25;
/// Any longer `dynamo_*` not `dynamo_frontend_*`, or `kvstats_*`.
const OTHER_DYNAMO: usize = 26;
const ANY_FRONTEND: usize = 27;

/// A relation over the states: bit q of row p when (p, q) is in it.
type Relation = [u32; STATES];

/// The characters a state moves on other than to its default state.
fn explicit(state: usize) -> &'static [u8] {
    match state {
        0 => b"dk",
        1..=6 => &DYNAMO[state..=state],
        AFTER_DYNAMO => b"f",
        KVSTATS_START..=14 => &KVSTATS[state - 7..=state - 7],
        FRONTEND_START..=23 => &FRONTEND[state - 15..=state - 15],
        _ => b"",
    }
}

/// The state after `state` reads `c`, `None` standing for any character not in [`explicit`].
fn next(state: usize, c: Option<u8>) -> usize {
    match (state, c) {
        (0, Some(b'd')) => 1,
        (0, Some(b'k')) => KVSTATS_START,
        (AFTER_DYNAMO, Some(b'f')) => FRONTEND_START,
        (AFTER_DYNAMO | FRONTEND_START..=23 | AFTER_KVSTATS, _) if c.is_none() => OTHER_DYNAMO,
        (AFTER_KVSTATS, _) => OTHER_DYNAMO,
        (AFTER_FRONTEND, _) => ANY_FRONTEND,
        (DEAD | OTHER_DYNAMO | ANY_FRONTEND, _) => state,
        (_, Some(_)) => state + 1,
        (_, None) => DEAD,
    }
}

/// The states where a name ends as a frontend metric, and as another Dynamo metric.
const FRONTEND_ENDS: u32 = (1 << AFTER_FRONTEND) | (1 << ANY_FRONTEND);
/// `dynamo_`, `kvstats_`, longer ones, and `dynamo_f` to `dynamo_frontend` (states 16..=23).
const OTHER_ENDS: u32 =
    (1 << AFTER_DYNAMO) | (1 << AFTER_KVSTATS) | (1 << OTHER_DYNAMO) | (0xff << FRONTEND_START);

/// Which Dynamo metric names `pattern` (a `__name__` regex, anchored by Prometheus) can match; every
/// kind when regex-syntax does not read it.
pub fn dynamo_names(pattern: &str) -> Names {
    let Some(ast) = parse(pattern) else {
        return Names::ANY;
    };
    let reader = Reader {
        folds_case: folds_case(&ast),
    };
    let reached = reader.relation(&ast)[0];
    Names {
        frontend: reached & FRONTEND_ENDS != 0,
        target: reached & OTHER_ENDS != 0,
    }
}

fn identity() -> Relation {
    std::array::from_fn(|state| 1 << state)
}

fn union(a: &Relation, b: &Relation) -> Relation {
    std::array::from_fn(|state| a[state] | b[state])
}

/// `a` then `b`.
fn compose(a: &Relation, b: &Relation) -> Relation {
    std::array::from_fn(|state| {
        (0..STATES)
            .filter(|middle| a[state] & 1 << middle != 0)
            .fold(0, |reached, middle| reached | b[middle])
    })
}

/// `relation` `times` times.
fn power(relation: &Relation, mut times: u32) -> Relation {
    let (mut result, mut base) = (identity(), *relation);
    while times > 0 {
        if times & 1 == 1 {
            result = compose(&result, &base);
        }
        base = compose(&base, &base);
        times >>= 1;
    }
    result
}

/// `relation` any number of times.
fn closure(relation: &Relation) -> Relation {
    let mut result = identity();
    loop {
        let next = union(&result, &compose(&result, relation));
        if next == result {
            return result;
        }
        result = next;
    }
}

/// Three-valued membership of a character in a class: `Maybe` where the analysis does not model it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Member {
    No,
    Maybe,
    Yes,
}

impl Member {
    fn of(yes: bool) -> Self {
        if yes { Self::Yes } else { Self::No }
    }

    fn not(self) -> Self {
        match self {
            Self::No => Self::Yes,
            Self::Maybe => Self::Maybe,
            Self::Yes => Self::No,
        }
    }

    fn or(self, other: Self) -> Self {
        match (self, other) {
            (Self::Yes, _) | (_, Self::Yes) => Self::Yes,
            (Self::No, Self::No) => Self::No,
            _ => Self::Maybe,
        }
    }
}

/// A regex that matches one character.
#[derive(Clone, Copy)]
enum Atom<'a> {
    Literal(char),
    Any,
    Perl(&'a ast::ClassPerl),
    Bracketed(&'a ast::ClassBracketed),
}

/// Reads a regex as a relation over the name automaton's states.
struct Reader {
    /// Whether case-insensitive matching is on anywhere: then every literal and class may match the
    /// other case too (and, through Unicode folding, characters outside ASCII).
    folds_case: bool,
}

impl Reader {
    fn relation(&self, ast: &Ast) -> Relation {
        match ast {
            Ast::Empty(_) | Ast::Flags(_) => identity(),
            Ast::Literal(literal) => self.atom(Atom::Literal(literal.c)),
            Ast::Dot(_) | Ast::ClassUnicode(_) => self.atom(Atom::Any),
            Ast::ClassPerl(class) => self.atom(Atom::Perl(class)),
            Ast::ClassBracketed(class) => self.atom(Atom::Bracketed(class)),
            Ast::Assertion(assertion) => match assertion.kind {
                // Zero-width: over-approximated as always holding.
                AssertionKind::StartLine
                | AssertionKind::EndLine
                | AssertionKind::StartText
                | AssertionKind::EndText
                | AssertionKind::WordBoundary
                | AssertionKind::NotWordBoundary => identity(),
                // Rust's `\<`, `\>`, `\b{start}`...: Go reads literal characters there.
                _ => union(&identity(), &closure(&self.atom(Atom::Any))),
            },
            Ast::Group(group) => self.relation(&group.ast),
            Ast::Alternation(alternation) => {
                alternation.asts.iter().fold([0; STATES], |all, branch| {
                    union(&all, &self.relation(branch))
                })
            }
            Ast::Concat(concat) => concat
                .asts
                .iter()
                .fold(identity(), |all, item| compose(&all, &self.relation(item))),
            Ast::Repetition(repetition) => {
                let once = self.relation(&repetition.ast);
                let (min, max) = match &repetition.op.kind {
                    RepetitionKind::ZeroOrOne => (0, Some(1)),
                    RepetitionKind::ZeroOrMore => (0, None),
                    RepetitionKind::OneOrMore => (1, None),
                    RepetitionKind::Range(RepetitionRange::Exactly(n)) => (*n, Some(*n)),
                    RepetitionKind::Range(RepetitionRange::AtLeast(n)) => (*n, None),
                    RepetitionKind::Range(RepetitionRange::Bounded(m, n)) => (*m, Some(*n)),
                };
                let rest = match max {
                    None => closure(&once),
                    // (identity | once) to a power settles after STATES steps.
                    Some(max) => power(
                        &union(&identity(), &once),
                        max.saturating_sub(min).min(STATES as u32),
                    ),
                };
                compose(&power(&once, min), &rest)
            }
        }
    }

    /// The relation of a one-character regex.
    fn atom(&self, atom: Atom<'_>) -> Relation {
        std::array::from_fn(|state| {
            let chars = explicit(state);
            let mut reached = 0;
            for &c in chars {
                if self.contains(atom, char::from(c)) != Member::No {
                    reached |= 1 << next(state, Some(c));
                }
            }
            if self.contains_other(atom, chars) {
                reached |= 1 << next(state, None);
            }
            reached
        })
    }

    /// Whether `atom` matches the ASCII character `x`.
    fn contains(&self, atom: Atom<'_>, x: char) -> Member {
        match atom {
            Atom::Literal(c) => self.literal(c, x),
            Atom::Any => Member::Yes,
            Atom::Perl(class) => perl(class, x),
            Atom::Bracketed(class) => {
                if !plain(&class.kind) {
                    return Member::Maybe;
                }
                let inside = self.set(&class.kind, x);
                if class.negated { inside.not() } else { inside }
            }
        }
    }

    fn literal(&self, c: char, x: char) -> Member {
        if c == x {
            Member::Yes
        } else if self.folds_case && (c.eq_ignore_ascii_case(&x) || !c.is_ascii()) {
            Member::Maybe
        } else {
            Member::No
        }
    }

    fn set(&self, set: &ClassSet, x: char) -> Member {
        match set {
            ClassSet::Item(item) => self.item(item, x),
            ClassSet::BinaryOp(_) => Member::Maybe,
        }
    }

    fn item(&self, item: &ClassSetItem, x: char) -> Member {
        match item {
            ClassSetItem::Empty(_) => Member::No,
            ClassSetItem::Literal(literal) => self.literal(literal.c, x),
            ClassSetItem::Range(range) => {
                let within = |c: char| (range.start.c..=range.end.c).contains(&c);
                if within(x) {
                    Member::Yes
                } else if self.folds_case
                    && (within(x.to_ascii_uppercase())
                        || within(x.to_ascii_lowercase())
                        || !range.end.c.is_ascii())
                {
                    Member::Maybe
                } else {
                    Member::No
                }
            }
            ClassSetItem::Ascii(class) => {
                let inside = ascii(&class.kind, x, self.folds_case);
                if class.negated { inside.not() } else { inside }
            }
            ClassSetItem::Perl(class) => perl(class, x),
            ClassSetItem::Unicode(_) | ClassSetItem::Bracketed(_) => Member::Maybe,
            ClassSetItem::Union(union) => union
                .items
                .iter()
                .fold(Member::No, |all, item| all.or(self.item(item, x))),
        }
    }

    /// Whether `atom` may match a character outside `chars` (over-approximated).
    fn contains_other(&self, atom: Atom<'_>, chars: &[u8]) -> bool {
        let outside = |c: char| !u8::try_from(c).is_ok_and(|c| chars.contains(&c));
        match atom {
            Atom::Literal(c) => self.folds_case || outside(c),
            Atom::Bracketed(class) if !class.negated && !self.folds_case && plain(&class.kind) => {
                let ClassSet::Item(item) = &class.kind else {
                    return true;
                };
                item_has_other(item, &outside)
            }
            Atom::Any | Atom::Perl(_) | Atom::Bracketed(_) => true,
        }
    }
}

/// Whether a class item holds a character for which `outside` holds (over-approximated).
fn item_has_other(item: &ClassSetItem, outside: &dyn Fn(char) -> bool) -> bool {
    match item {
        ClassSetItem::Empty(_) => false,
        ClassSetItem::Literal(literal) => outside(literal.c),
        ClassSetItem::Range(range) => {
            let (start, end) = (u32::from(range.start.c), u32::from(range.end.c));
            // A range of more than 26 characters holds one outside the (at most two) given ones.
            end.saturating_sub(start) > 26 || (start..=end).filter_map(char::from_u32).any(outside)
        }
        ClassSetItem::Union(union) => union.items.iter().any(|item| item_has_other(item, outside)),
        ClassSetItem::Ascii(_)
        | ClassSetItem::Unicode(_)
        | ClassSetItem::Perl(_)
        | ClassSetItem::Bracketed(_) => true,
    }
}

/// Whether a class is one Go reads as Rust does: no nested brackets and no set operations (`&&`,
/// `--`, `~~`), which Go reads as literal characters.
fn plain(set: &ClassSet) -> bool {
    fn plain_item(item: &ClassSetItem) -> bool {
        match item {
            ClassSetItem::Bracketed(_) => false,
            ClassSetItem::Union(union) => union.items.iter().all(plain_item),
            _ => true,
        }
    }
    match set {
        ClassSet::Item(item) => plain_item(item),
        ClassSet::BinaryOp(_) => false,
    }
}

/// `\d`, `\s`, `\w` and their negations on an ASCII character (Go's are ASCII; Rust's Unicode ones
/// agree on ASCII).
fn perl(class: &ast::ClassPerl, x: char) -> Member {
    let inside = match class.kind {
        ClassPerlKind::Digit => x.is_ascii_digit(),
        ClassPerlKind::Space => x.is_ascii_whitespace() || x == '\x0b',
        ClassPerlKind::Word => x.is_ascii_alphanumeric() || x == '_',
    };
    let inside = Member::of(inside);
    if class.negated { inside.not() } else { inside }
}

/// A POSIX class (`[[:alpha:]]`) on an ASCII character.
fn ascii(kind: &ClassAsciiKind, x: char, folds_case: bool) -> Member {
    let inside = match kind {
        ClassAsciiKind::Alnum => x.is_ascii_alphanumeric(),
        ClassAsciiKind::Alpha => x.is_ascii_alphabetic(),
        ClassAsciiKind::Ascii => x.is_ascii(),
        ClassAsciiKind::Blank => x == ' ' || x == '\t',
        ClassAsciiKind::Cntrl => x.is_ascii_control(),
        ClassAsciiKind::Digit => x.is_ascii_digit(),
        ClassAsciiKind::Graph => x.is_ascii_graphic(),
        ClassAsciiKind::Lower | ClassAsciiKind::Upper if folds_case && x.is_ascii_alphabetic() => {
            return Member::Maybe;
        }
        ClassAsciiKind::Lower => x.is_ascii_lowercase(),
        ClassAsciiKind::Print => x.is_ascii_graphic() || x == ' ',
        ClassAsciiKind::Punct => x.is_ascii_punctuation(),
        ClassAsciiKind::Space => x.is_ascii_whitespace() || x == '\x0b',
        ClassAsciiKind::Upper => x.is_ascii_uppercase(),
        ClassAsciiKind::Word => x.is_ascii_alphanumeric() || x == '_',
        ClassAsciiKind::Xdigit => x.is_ascii_hexdigit(),
    };
    Member::of(inside)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn literals(pattern: &str) -> Option<Vec<String>> {
        analyse(pattern)
            .literals
            .map(|set| set.into_iter().collect())
    }

    fn set(values: &[&str]) -> Option<Vec<String>> {
        Some(values.iter().map(|v| (*v).to_owned()).collect())
    }

    #[test]
    fn literal_regexes_stand_for_their_strings() {
        assert_eq!(literals("default-a"), set(&["default-a"]));
        assert_eq!(
            literals("default-a|default-b"),
            set(&["default-a", "default-b"])
        );
        assert_eq!(literals("default-(a|b)"), set(&["default-a", "default-b"]));
        assert_eq!(literals("(?:default-(?P<x>a))"), set(&["default-a"]));
        assert_eq!(literals(r"default\-a\.b"), set(&["default-a.b"]));
        assert_eq!(literals(r"default-\x61"), set(&["default-a"]));
        assert_eq!(literals("^default-a$"), set(&["default-a"]));
        assert_eq!(literals(r"\Adefault-a\z"), set(&["default-a"]));
        assert_eq!(literals("é-ü"), set(&["é-ü"]));
        // Empty branches match the empty string: series without the label.
        assert_eq!(literals("default-a|"), set(&["", "default-a"]));
        assert_eq!(literals("|default-a"), set(&["", "default-a"]));
        assert_eq!(literals("default-a()"), set(&["default-a"]));
        assert_eq!(literals(""), set(&[""]));
        // Anchors in the middle match nothing.
        assert_eq!(literals("a^b|c"), set(&["c"]));
        assert_eq!(literals("a$b"), set(&[]));
        assert_eq!(literals("$^"), set(&[""]));
    }

    #[test]
    fn the_literals_are_what_the_anchored_regex_matches() {
        for pattern in [
            "default-a|default-b",
            "default-(a|b)(-x|)",
            r"^default\-a\.b$|\Ac\z",
            "a^b|c",
            "é-ü|",
            "((a|b)|(c|d))e",
        ] {
            let regex = regex_lite::Regex::new(&format!("^(?s:{pattern})$")).unwrap();
            let literals = analyse(pattern).literals.unwrap();
            for literal in &literals {
                assert!(regex.is_match(literal), "{pattern}: {literal:?}");
            }
            // Each literal with a character more or less is not matched unless it is listed.
            for literal in &literals {
                for other in [
                    format!("{literal}x"),
                    format!("x{literal}"),
                    literal.chars().skip(1).collect(),
                ] {
                    assert_eq!(
                        regex.is_match(&other),
                        literals.contains(&other),
                        "{pattern}: {other:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn anything_else_is_open() {
        for pattern in [
            ".*",
            "default-.*",
            ".*-sglang-agg",
            "default-a.?",
            "default-a?",
            "default-[a]",
            "default-a{1}",
            r"default-\w",
            "(?i)default-a",
            "(?i:default-a)",
            "default-a(?i)",
            "(?-i)default-a",
            "(?s)default-a",
            "(?m)^default-a$",
            r"default-a\b",
            "a)|(b",
            "default-(a",
        ] {
            assert_eq!(literals(pattern), None, "{pattern}");
        }
        // Too many strings.
        assert_eq!(literals(&"(a|b)".repeat(7)), None);
        assert_eq!(literals(&"(a|b)".repeat(6)).map(|s| s.len()), Some(64));
    }

    #[test]
    fn case_folding_is_found_wherever_it_is_turned_on() {
        for (pattern, folds) in [
            ("a", false),
            ("(?i)a", true),
            ("x|(?i:a)", true),
            ("((?i)a)*", true),
            ("(?-i)a", false),
            ("(?s-i)a", false),
            ("(?i-s)a", true),
            ("a)", true),
        ] {
            assert_eq!(analyse(pattern).folds_case, folds, "{pattern}");
        }
    }

    fn names(pattern: &str) -> (bool, bool) {
        let names = dynamo_names(pattern);
        (names.frontend, names.target)
    }

    #[test]
    fn name_regexes_are_read_for_the_dynamo_names_they_can_match() {
        let none = (false, false);
        let frontend = (true, false);
        let other = (false, true);
        let both = (true, true);
        for (pattern, expected) in [
            ("dynamo_.*", both),
            ("dynamo_frontend_.*", frontend),
            ("dynamo_frontend_queued_requests", frontend),
            ("dynamo_frontend_", frontend),
            ("dynamo_frontend", other),
            ("dynamo_component_.*", other),
            ("dynamo_", other),
            ("dynamo", none),
            ("kvstats_.*", other),
            ("kvstats_gpu_cache_usage_percent", other),
            ("container_.*", none),
            ("up|process_.*", none),
            (".*", both),
            (".+_requests_total", both),
            (".*_queued_requests", both),
            ("dyn.mo_.*", both),
            ("[d]ynamo_f.*", both),
            ("[a-e]ynamo_f[r]ontend_.*", frontend),
            ("[^d]ynamo_.*", none),
            ("[^a-z]ynamo_.*", none),
            ("[[:alpha:]]vstats_x", other),
            (r"\wvstats_x", other),
            (r"\dvstats_x", none),
            (r"\Dvstats_x", other),
            ("(dynamo|kvstats)_x", other),
            ("(dynamo_)?x", other),
            ("x(dynamo_)?", none),
            ("x*dynamo_x", other),
            ("^dynamo_x$", other),
            // `dynamo_Frontend_x` is not a frontend metric: names are case-sensitive.
            ("(?i)DYNAMO_FRONTEND_X", both),
            ("(?i)D.*", both),
            ("(?i)[A-Z]vstats_x", other),
            // Kelvin sign: Go folds it with k.
            ("(?i)\u{212A}vstats_x", other),
            ("\u{212A}vstats_x", none),
            (r"\pLvstats_x", other),
            // Set operations and nested classes: Go reads literal characters, so anything may match.
            ("[d&&x]ynamo_x", other),
            ("[[x]]ynamo_x", other),
            // Rust reads an assertion, Go a literal `<`: anything may come before.
            (r"\<dynamo_x", both),
            ("dynamo{2}_x", none),
            ("dynamo_{2}x", other),
            ("d(y|n)*amo_x", other),
            ("dynamo_(frontend_)?x", both),
            ("dynamo_fronten[^d]_x", other),
            ("((a)", both),
        ] {
            assert_eq!(names(pattern), expected, "{pattern}");
        }
    }
}
