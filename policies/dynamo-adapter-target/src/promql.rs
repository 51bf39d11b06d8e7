//! The PromQL front end: the vector selectors of a query, parsed with `rusty-promql-parser`.
//!
//! Before parsing, a small lexer (strings, comments, brackets) refuses queries the recursive parser
//! could not get through safely, and rewrites what Prometheus 3 accepts but the parser does not: quoted
//! label names (`{"dynamo_namespace"="x"}`, `sum by ("a.b") (...)`). Every rewrite keeps the byte
//! length, so positions in the rewritten query are positions in the query as written.

use std::fmt;

use rusty_promql_parser::lexer::string::string_literal;
use rusty_promql_parser::lexer::whitespace::ws_opt;
use rusty_promql_parser::{Expr, VectorSelector};

/// The longest query accepted, in bytes. The parser and the syntax tree it builds are recursive: these
/// limits keep a hostile query from exhausting the module's stack, far above what real queries need.
pub const MAX_QUERY_BYTES: usize = 8192;
/// The deepest nesting of parentheses, brackets and braces a query may have.
pub const MAX_NESTING: usize = 64;
/// The most `+`, `-` and `^` signs a query may have: each unary sign and each `^` is one more level of
/// the parser's recursion.
pub const MAX_SIGNS: usize = 256;

/// A PromQL query that does not parse: where the parser stopped, and what it found there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    /// Line of the query, from 1.
    pub line: usize,
    /// Column of that line in characters, from 1.
    pub column: usize,
    /// What is wrong there.
    pub problem: String,
}

/// The largest character boundary of `text` at or before `offset` (its length, past its end): where
/// `text` may be sliced for an offset that can fall inside a character or beyond the text.
fn floor_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

impl QueryError {
    /// The error at byte `offset` of `query` (the character it falls in, if it falls inside one).
    fn at(query: &str, offset: usize, problem: String) -> Self {
        let before = query
            .get(..floor_boundary(query, offset))
            .unwrap_or_default();
        let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
        Self {
            line: before.matches('\n').count() + 1,
            column: before.get(line_start..).unwrap_or_default().chars().count() + 1,
            problem,
        }
    }

    /// The parser stopped at byte `offset` of `query`.
    fn stopped_at(query: &str, offset: usize) -> Self {
        let rest = query
            .get(floor_boundary(query, offset)..)
            .unwrap_or_default();
        let found = rest.lines().next().unwrap_or_default().trim_end();
        let problem = if found.is_empty() {
            "unexpected end of query".to_owned()
        } else {
            let shown: String = found.chars().take(30).collect();
            let more = if shown.len() < found.len() { "..." } else { "" };
            format!("unexpected `{shown}{more}`")
        };
        Self::at(query, offset, problem)
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.problem
        )
    }
}

/// The vector selectors of a PromQL query (those of range selectors and subqueries included), in query
/// order; `Err` says where a query that does not parse stops parsing.
pub fn vector_selectors(query: &str) -> Result<Vec<VectorSelector>, QueryError> {
    let tokens = tokens(query);
    check_size(query, &tokens)?;
    let rewritten = unquote_label_names(query, &tokens);
    let rest = match rusty_promql_parser::expr(&rewritten) {
        Ok((rest, expr)) => match ws_opt(rest) {
            Ok(("", ())) => return Ok(selectors_of(&expr)),
            Ok((rest, ())) => rest,
            Err(_) => rest,
        },
        Err(nom::Err::Error(error) | nom::Err::Failure(error)) => error.input,
        Err(nom::Err::Incomplete(_)) => "",
    };
    Err(QueryError::stopped_at(
        query,
        rewritten.len().saturating_sub(rest.len()),
    ))
}

/// What the lexer sees of a query: strings, words (names, keywords, numbers) and single characters;
/// whitespace and `#` comments are skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    /// A quoted string, quotes included (to the end of the line, or of the query, if unclosed).
    String,
    /// A run of letters, digits, `_`, `:` and `.`.
    Word,
    /// Any other character.
    Char(char),
}

/// The tokens of `query`, each with its byte range.
fn tokens(query: &str) -> Vec<(Token, usize, usize)> {
    let is_word = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '.');
    let mut tokens = Vec::new();
    let mut chars = query.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        let token = match c {
            // To the end of the line; a lone `\r` ends it too, where the parser stops reading.
            '#' => {
                while chars.next_if(|&(_, c)| c != '\n' && c != '\r').is_some() {}
                continue;
            }
            c if c.is_whitespace() => continue,
            '"' | '\'' | '`' => {
                // Go's PromQL strings: backslash escapes in '...' and "...", which end at a newline
                // (an error there); none in `...`.
                let mut escaped = false;
                while let Some((_, inside)) =
                    chars.next_if(|&(_, inside)| c == '`' || inside != '\n')
                {
                    if escaped {
                        escaped = false;
                    } else if inside == '\\' && c != '`' {
                        escaped = true;
                    } else if inside == c {
                        break;
                    }
                }
                Token::String
            }
            c if is_word(c) => {
                while chars.next_if(|&(_, c)| is_word(c)).is_some() {}
                Token::Word
            }
            c => Token::Char(c),
        };
        let end = chars.peek().map_or(query.len(), |&(end, _)| end);
        tokens.push((token, start, end));
    }
    tokens
}

/// Refuses queries longer than [`MAX_QUERY_BYTES`], nested deeper than [`MAX_NESTING`] or with more
/// than [`MAX_SIGNS`] signs; what is quoted or commented out does not count.
fn check_size(query: &str, tokens: &[(Token, usize, usize)]) -> Result<(), QueryError> {
    if query.len() > MAX_QUERY_BYTES {
        return Err(QueryError::at(
            query,
            0,
            format!(
                "the query is {} bytes long, more than {MAX_QUERY_BYTES}",
                query.len()
            ),
        ));
    }
    let mut depth = 0usize;
    let mut signs = 0usize;
    for &(token, offset, _) in tokens {
        let too_many = |problem: String| Err(QueryError::at(query, offset, problem));
        match token {
            Token::Char('(' | '[' | '{') => {
                depth += 1;
                if depth > MAX_NESTING {
                    return too_many(format!("nested deeper than {MAX_NESTING} levels"));
                }
            }
            Token::Char(')' | ']' | '}') => depth = depth.saturating_sub(1),
            Token::Char('+' | '-' | '^') => {
                signs += 1;
                if signs > MAX_SIGNS {
                    return too_many(format!("more than {MAX_SIGNS} signs (+, -, ^)"));
                }
            }
            // A word holds the sign of an exponent (`1e-3` is the words `1e` and `3`), counted above.
            _ => {}
        }
    }
    Ok(())
}

/// The keywords whose parenthesised list holds label names: grouping and vector matching.
const LABEL_LIST_KEYWORDS: [&str; 6] = [
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

/// Rewrites Prometheus 3's quoted label names into names the parser reads, keeping every byte offset:
/// a label name in a matcher (a string followed by `=`, `!=`, `=~` or `!~` inside braces) becomes its
/// value padded with spaces when that is a plain name (`"dynamo_namespace"  ` -> `dynamo_namespace  `),
/// else underscores (no label the policy reads is named so); a quoted name in a `by`, `without`, `on`,
/// `ignoring`, `group_left` or `group_right` list becomes underscores. A quoted metric name
/// (`{"metric.name"}`) is left alone: the parser reads it.
fn unquote_label_names(query: &str, tokens: &[(Token, usize, usize)]) -> String {
    let mut rewritten = query.to_owned();
    let mut braces = 0usize;
    // After a keyword followed by `(`; then inside its list.
    let (mut list_follows, mut in_list) = (false, false);
    for (index, &(token, start, end)) in tokens.iter().enumerate() {
        let next = tokens.get(index + 1).map(|&(token, ..)| token);
        let Some(source) = query.get(start..end) else {
            continue;
        };
        let opens_list = std::mem::take(&mut list_follows);
        let replacement = match token {
            Token::Char('{') => {
                braces += 1;
                continue;
            }
            Token::Char('}') => {
                braces = braces.saturating_sub(1);
                continue;
            }
            Token::Char('(') => {
                in_list = opens_list;
                continue;
            }
            Token::Word if in_list => continue,
            Token::Word => {
                list_follows = next == Some(Token::Char('('))
                    && LABEL_LIST_KEYWORDS
                        .iter()
                        .any(|keyword| source.eq_ignore_ascii_case(keyword));
                continue;
            }
            Token::Char(',') => continue,
            Token::String if in_list => "_".repeat(source.len()),
            Token::String if braces > 0 && matches!(next, Some(Token::Char('=' | '!'))) => {
                match string_literal(source) {
                    Ok(("", name)) if is_label_name(&name) => {
                        format!("{name:<width$}", width = source.len())
                    }
                    _ => "_".repeat(source.len()),
                }
            }
            // `)` ends a list, and so does anything but names and commas.
            Token::String | Token::Char(_) => {
                in_list = false;
                continue;
            }
        };
        // Same length, over the same bytes: offsets and character boundaries stay where they were.
        if replacement.len() == source.len() && rewritten.get(start..end).is_some() {
            rewritten.replace_range(start..end, &replacement);
        }
    }
    rewritten
}

/// Whether `name` is a label name the parser reads unquoted: `[a-zA-Z_][a-zA-Z0-9_]*`.
fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The vector selectors of `expr`, in query order, walked without recursion.
fn selectors_of(expr: &Expr) -> Vec<VectorSelector> {
    let mut selectors = Vec::new();
    let mut pending = vec![expr];
    while let Some(expr) = pending.pop() {
        match expr {
            Expr::VectorSelector(selector) => selectors.push(selector.clone()),
            Expr::MatrixSelector(range) => selectors.push(range.selector.clone()),
            Expr::Call(call) => pending.extend(call.args.iter().rev()),
            Expr::Aggregation(aggregation) => {
                pending.push(&aggregation.expr);
                pending.extend(aggregation.param.as_ref());
            }
            Expr::Binary(binary) => {
                pending.push(&binary.rhs);
                pending.push(&binary.lhs);
            }
            Expr::Unary(unary) => pending.push(&unary.expr),
            Expr::Paren(inner) => pending.push(inner),
            Expr::Subquery(subquery) => pending.push(&subquery.expr),
            Expr::Number(_) | Expr::String(_) => {}
        }
    }
    selectors
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each selector as the parser prints it.
    fn selectors(query: &str) -> Vec<String> {
        vector_selectors(query)
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    fn error(query: &str) -> String {
        vector_selectors(query).unwrap_err().to_string()
    }

    #[test]
    fn unparsable_queries_say_where_parsing_stops() {
        assert_eq!(
            error("sum(rate(x[5m]))\n  by le"),
            "line 2, column 3: unexpected `by le`"
        );
        assert_eq!(
            error("sum(rate(x[5m])"),
            "line 1, column 16: unexpected end of query"
        );
        assert_eq!(error("  \n"), "line 2, column 1: unexpected end of query");
        assert_eq!(
            // Columns count characters, not bytes.
            error(r#"x{a="ÿ"} + y{c="d}"#),
            "line 1, column 14: unexpected `c=\"d}`"
        );
        assert_eq!(
            error("sum(x) by (le) 42 is more than thirty characters long"),
            "line 1, column 16: unexpected `42 is more than thirty charact...`"
        );
    }

    #[test]
    fn errors_around_multi_byte_characters_count_characters() {
        // Bytes before the error: 12; characters: 11.
        assert_eq!(
            error(r#"x{a="é"} + 😀y"#),
            "line 1, column 12: unexpected `😀y`"
        );
        assert_eq!(
            error(r#"x{a="é"}é😀"#),
            "line 1, column 9: unexpected `é😀`"
        );
        assert_eq!(
            error("x{a=\"😀\"} +\n  é{b=\"c\"}"),
            "line 2, column 3: unexpected `é{b=\"c\"}`"
        );
        // The excerpt is cut after 30 characters, not bytes.
        assert_eq!(
            error(&format!("x + {}", "é".repeat(40))),
            format!("line 1, column 5: unexpected `{}...`", "é".repeat(30))
        );
    }

    #[test]
    fn floor_boundary_steps_back_out_of_a_character_and_in_from_past_the_end() {
        let text = "a😀b";
        let floors: Vec<usize> = (0..=text.len() + 2)
            .map(|offset| floor_boundary(text, offset))
            .collect();
        assert_eq!(floors, [0, 1, 1, 1, 1, 5, 6, 6, 6]);
        assert_eq!(floor_boundary("", 3), 0);
    }

    #[test]
    fn errors_never_slice_inside_a_character() {
        let query = "aéb";
        for offset in 0..=query.len() + 2 {
            let error = QueryError::stopped_at(query, offset);
            assert_eq!(error.line, 1, "{offset}");
            assert!(error.column <= 4, "{offset}");
        }
        assert_eq!(QueryError::stopped_at(query, 2).column, 2);
        assert_eq!(QueryError::stopped_at(query, 2).problem, "unexpected `éb`");
        assert_eq!(
            QueryError::stopped_at("", 5).problem,
            "unexpected end of query"
        );
        // Offsets where `&query[..offset]` panics: inside the emoji, and past the end. The error points
        // at the emoji, or past the last character.
        let query = "x\n😀b";
        for offset in [3, 4, 5] {
            assert!(!query.is_char_boundary(offset), "{offset}");
            assert_eq!(
                QueryError::stopped_at(query, offset).to_string(),
                "line 2, column 1: unexpected `😀b`"
            );
        }
        for offset in [query.len(), query.len() + 1, usize::MAX] {
            assert_eq!(
                QueryError::stopped_at(query, offset).to_string(),
                "line 2, column 3: unexpected end of query"
            );
        }
        // A rewritten quoted name that does not parse afterwards is shown as written.
        assert_eq!(
            error(r#"x{"ü.ü"="a" "b"}"#),
            "line 1, column 13: unexpected `\"b\"}`"
        );
    }

    #[test]
    fn nesting_is_refused_one_level_beyond_max_nesting() {
        let deep = format!(
            "{}x{}",
            "(".repeat(MAX_NESTING + 1),
            ")".repeat(MAX_NESTING + 1)
        );
        assert_eq!(
            error(&deep),
            format!(
                "line 1, column {}: nested deeper than {MAX_NESTING} levels",
                MAX_NESTING + 1
            )
        );
        let fine = format!("{}x{}", "(".repeat(MAX_NESTING), ")".repeat(MAX_NESTING));
        assert_eq!(vector_selectors(&fine).unwrap().len(), 1);
        // Brackets inside strings do not count.
        let quoted = format!(r#"x{{a="{}", b='\'(', c=`(`}}"#, "(-".repeat(300));
        assert_eq!(vector_selectors(&quoted).unwrap().len(), 1);
        // A quote in a comment hides nothing: the brackets after it count.
        let commented = format!("# it's\n{deep}");
        assert_eq!(
            error(&commented),
            format!(
                "line 2, column {}: nested deeper than {MAX_NESTING} levels",
                MAX_NESTING + 1
            )
        );
        // Nor does an unclosed quote hide the next lines.
        assert_eq!(
            error(&format!("x{{a=\"b\n}} + {deep}")),
            format!(
                "line 2, column {}: nested deeper than {MAX_NESTING} levels",
                MAX_NESTING + 5
            )
        );
    }

    #[test]
    fn signs_are_refused_one_beyond_max_signs() {
        let signs = format!("x{}", "-x".repeat(MAX_SIGNS + 1));
        assert_eq!(
            error(&signs),
            format!(
                "line 1, column {}: more than {MAX_SIGNS} signs (+, -, ^)",
                2 * MAX_SIGNS + 2
            )
        );
        assert_eq!(
            vector_selectors(&format!("x{}", "^x".repeat(MAX_SIGNS)))
                .unwrap()
                .len(),
            MAX_SIGNS + 1
        );
    }

    #[test]
    fn queries_are_refused_one_byte_beyond_max_query_bytes() {
        let products = format!("x{}", " * x".repeat((MAX_QUERY_BYTES - 1) / 4));
        let exactly = format!("{products:<MAX_QUERY_BYTES$}");
        assert_eq!(exactly.len(), MAX_QUERY_BYTES);
        assert_eq!(
            vector_selectors(&exactly).unwrap().len(),
            (MAX_QUERY_BYTES - 1) / 4 + 1
        );
        let too_long = format!("{exactly} ");
        assert_eq!(
            error(&too_long),
            format!(
                "line 1, column 1: the query is {} bytes long, more than {MAX_QUERY_BYTES}",
                MAX_QUERY_BYTES + 1
            )
        );
        // Bytes count, not characters: 4093 `é` are 8186 bytes.
        let accented = format!(r#"x{{a="{}"}}"#, "é".repeat(4093));
        assert!(accented.chars().count() < MAX_QUERY_BYTES);
        assert_eq!(
            error(&accented),
            format!(
                "line 1, column 1: the query is {} bytes long, more than {MAX_QUERY_BYTES}",
                MAX_QUERY_BYTES + 1
            )
        );
    }

    #[test]
    fn prometheus_3_quoted_names_parse() {
        assert_eq!(
            selectors(r#"sum(m{"dynamo_namespace"="a", job="j"})"#),
            [r#"m{dynamo_namespace="a", job="j"}"#]
        );
        assert_eq!(
            selectors(r#"{"metric.name", "dynamo_namespace" =~ 'a|b', "x.y"!="z"}"#),
            [r#"metric.name{dynamo_namespace=~"a|b", _____!="z"}"#]
        );
        // Escapes are decoded: this is the label dynamo_namespace.
        assert_eq!(
            selectors(r#"m{"dynamo\u005fnamespace"!~"a"}"#),
            [r#"m{dynamo_namespace!~"a"}"#]
        );
        assert_eq!(
            selectors(r#"sum by ("a.b", le) (m) / on("x") group_left("y.z") n"#),
            ["m", "n"]
        );
        assert_eq!(
            selectors(r#"sum without ("le") (m{"on"="x"})"#),
            [r#"m{on="x"}"#]
        );
        // Values and function arguments stay strings.
        assert_eq!(
            selectors(r#"label_replace(m{a="="}, "dst", "$1", "src", "(.*)")"#),
            [r#"m{a="="}"#]
        );
        assert_eq!(
            error(r#"m{"a"="b""#),
            "line 1, column 10: unexpected end of query"
        );
    }
}
