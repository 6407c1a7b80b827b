//! Quoting for ClickHouse SQL, and TabSeparated text for small results.

/// `name` as a ClickHouse identifier: backquoted, with backquotes and backslashes escaped.
pub fn ident(name: &str) -> String {
    format!("`{}`", name.replace('\\', "\\\\").replace('`', "\\`"))
}

/// `database`.`table`.
pub fn qualified(database: &str, table: &str) -> String {
    format!("{}.{}", ident(database), ident(table))
}

/// `text` as a ClickHouse string literal.
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// `sql` on one line, cut at `max` characters (with `…`), for messages.
pub fn abbreviate(sql: &str, max: usize) -> String {
    let one_line = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > max {
        format!("{}…", one_line.chars().take(max.saturating_sub(1)).collect::<String>())
    } else {
        one_line
    }
}

/// Rows of a TabSeparated result, each field unescaped.
pub fn parse_tsv(text: &str) -> Vec<Vec<String>> {
    text.lines().filter(|l| !l.is_empty()).map(|line| line.split('\t').map(unescape).collect()).collect()
}

fn unescape(field: &str) -> String {
    if !field.contains('\\') {
        return field.to_string();
    }
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('0') => out.push('\0'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(ident("we`ird"), "`we\\`ird`");
        assert_eq!(literal("it's a \\"), "'it\\'s a \\\\'");
        assert_eq!(qualified("d", "t"), "`d`.`t`");
    }

    #[test]
    fn tsv() {
        assert_eq!(
            parse_tsv("a\\tb\tc\\\\d\n\nx\t\n"),
            vec![vec!["a\tb".to_string(), "c\\d".into()], vec!["x".into(), "".into()]]
        );
    }
}
