//! Property: statements made of code, quoted strings holding `;` and quotes, and comments
//! holding `;`, joined by `;` with comments and whitespace between them, split back into
//! exactly themselves.

use proptest::prelude::*;

fn word() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["SELECT", "a1", "42", "=", "(", ")", ",", "FROM", "t", "-1", "x.y"])
        .prop_map(String::from)
}

/// Text for inside a literal quoted by `q`: any of `; ' " \` - # / *` and letters, with the
/// quote escaped (doubled or backslashed) and backslashes escaped.
fn quoted(q: char) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec!['a', ';', '\'', '"', '`', '-', '#', '/', '*', '\\', ' ']),
        0..8,
    )
    .prop_flat_map(move |chars| {
        let n = chars.len();
        (Just(chars), prop::collection::vec(any::<bool>(), n))
    })
    .prop_map(move |(chars, doubled)| {
        let mut body = String::new();
        for (c, double) in chars.into_iter().zip(doubled) {
            match c {
                '\\' => body.push_str("\\\\"),
                c if c == q && double => body.push_str(&format!("{q}{q}")),
                c if c == q => body.push_str(&format!("\\{q}")),
                c => body.push(c),
            }
        }
        format!("{q}{body}{q}")
    })
}

fn comment() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z ;'\"]{0,6}".prop_map(|t| format!("-- {t}\n")),
        "[a-z ;'\"]{0,6}".prop_map(|t| format!("# {t}\n")),
        "[a-z ;'\"]{0,6}".prop_map(|t| format!("/* {t} */")),
    ]
}

/// A statement: it starts and ends with code and may hold literals and comments between.
fn statement() -> impl Strategy<Value = String> {
    let token =
        prop_oneof![4 => word(), 1 => quoted('\''), 1 => quoted('"'), 1 => quoted('`'), 1 => comment()];
    (word(), prop::collection::vec(token, 0..6), word()).prop_map(|(first, middle, last)| {
        let mut s = first;
        for t in middle.into_iter().chain([last]) {
            s.push(' ');
            s.push_str(&t);
        }
        s
    })
}

fn separator() -> impl Strategy<Value = String> {
    (prop::option::of(comment()), "[ \n\t]{0,3}")
        .prop_map(|(c, ws)| format!(";{ws}{}{ws}", c.unwrap_or_default()))
}

proptest! {
    #[test]
    fn statements_split_back_into_themselves(
        statements in prop::collection::vec(statement(), 1..6),
        separators in prop::collection::vec(separator(), 6),
        lead in prop::option::of(comment()),
        final_semicolon in any::<bool>(),
    ) {
        let mut text = lead.unwrap_or_default();
        for (i, s) in statements.iter().enumerate() {
            text.push_str(s);
            if i + 1 < statements.len() {
                text.push_str(&separators[i]);
            }
        }
        if final_semicolon {
            text.push(';');
        }
        let expected = statements.clone();
        prop_assert_eq!(ch_migrate::split(&text), expected, "text: {:?}", text);
    }
}
