//! Splitting a migration's text into statements: at `;` outside string literals (single,
//! double and back-quoted, with backslash or doubled-quote escapes) and comments (`--`, `#`,
//! `/* */`). Each statement is returned without the comments and whitespace before it and
//! without its `;` (comments inside it stay: the server skips them); a last statement without
//! `;` counts; comment-only pieces do not.

/// Where the scanner is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Code,
    Quoted(char),
    LineComment,
    BlockComment,
}

/// The statements of `text`, in order.
pub fn split(text: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut state = State::Code;
    // Byte offset where the current statement's first real token starts, if one has.
    let mut start: Option<usize> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match state {
            State::Code => match c {
                ';' => {
                    if let Some(s) = start.take() {
                        statements.push(text[s..i].trim_end().to_string());
                    }
                }
                '-' if chars.peek().is_some_and(|&(_, n)| n == '-') => {
                    chars.next();
                    state = State::LineComment;
                }
                '#' => state = State::LineComment,
                '/' if chars.peek().is_some_and(|&(_, n)| n == '*') => {
                    chars.next();
                    state = State::BlockComment;
                }
                '\'' | '"' | '`' => {
                    start.get_or_insert(i);
                    state = State::Quoted(c);
                }
                c if c.is_whitespace() => {}
                _ => {
                    start.get_or_insert(i);
                }
            },
            State::Quoted(q) => match c {
                '\\' => {
                    chars.next();
                }
                c if c == q => {
                    if chars.peek().is_some_and(|&(_, n)| n == q) {
                        chars.next(); // a doubled quote stands for itself
                    } else {
                        state = State::Code;
                    }
                }
                _ => {}
            },
            State::LineComment => {
                if c == '\n' {
                    state = State::Code;
                }
            }
            State::BlockComment => {
                if c == '*' && chars.peek().is_some_and(|&(_, n)| n == '/') {
                    chars.next();
                    state = State::Code;
                }
            }
        }
    }
    if let Some(s) = start {
        statements.push(text[s..].trim_end().to_string());
    }
    statements
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn statements_split_only_where_code_ends_them() {
        let cases: &[(&str, &[&str])] = &[
            ("SELECT 1; SELECT 2;", &["SELECT 1", "SELECT 2"]),
            ("SELECT 1; SELECT 2", &["SELECT 1", "SELECT 2"]),
            ("SELECT ';' AS a;", &["SELECT ';' AS a"]),
            ("SELECT 'it''s; fine';", &["SELECT 'it''s; fine'"]),
            (r"SELECT 'a\'; b';", &[r"SELECT 'a\'; b'"]),
            ("SELECT \"odd;name\" FROM `t;x`;", &["SELECT \"odd;name\" FROM `t;x`"]),
            ("-- header; with a semicolon\nSELECT 1;", &["SELECT 1"]),
            ("# hash comment;\nSELECT 1 # trailing;\n;", &["SELECT 1 # trailing;"]),
            ("/* block; comment */ SELECT /* inner; */ 1;", &["SELECT /* inner; */ 1"]),
            ("SELECT 1;\n-- ROLLBACK: DROP TABLE t;\n", &["SELECT 1"]),
            ("SELECT 1 -- no final semicolon", &["SELECT 1 -- no final semicolon"]),
            ("  \n-- only comments\n/* here */\n", &[]),
            (";;;", &[]),
            ("SELECT 'unterminated;", &["SELECT 'unterminated;"]),
            ("SELECT 1 - -1; SELECT 2", &["SELECT 1 - -1", "SELECT 2"]),
        ];
        for (text, expected) in cases {
            assert_eq!(split(text), *expected, "{text:?}");
        }
    }
}
