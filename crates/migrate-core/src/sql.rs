//! SQL text shared by the SQL stores (ANSI quoting works in DuckDB, SQLite and PostgreSQL).

/// Double-quotes an identifier: `a"b` → `"a""b"`.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A string literal: `it's` → `'it''s'` (standard-conforming strings).
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Quoted, comma-separated column list.
pub fn column_list(columns: &[String]) -> String {
    columns.iter().map(|c| quote_ident(c)).collect::<Vec<_>>().join(", ")
}

/// `the primary key (symbol, ts) and 2 indexes`: what the hints build after a load, for log
/// lines.
pub fn describe_keys(hints: &crate::TableHints) -> String {
    let mut parts = Vec::new();
    if !hints.primary_key.is_empty() {
        parts.push(format!("the primary key ({})", hints.primary_key.join(", ")));
    }
    match hints.indexes.len() {
        0 => {}
        1 => parts.push("1 index".into()),
        n => parts.push(format!("{n} indexes")),
    }
    parts.join(" and ")
}

/// `CREATE INDEX "idx_<table>_<cols>" ON "<table>" (…)` for each configured index.
pub fn create_index_statements(table: &str, indexes: &[Vec<String>]) -> Vec<String> {
    indexes
        .iter()
        .map(|index| {
            format!(
                "CREATE INDEX {} ON {} ({})",
                quote_ident(&format!("idx_{table}_{}", index.join("_"))),
                quote_ident(table),
                column_list(index)
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_and_indexes() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(
            create_index_statements("bars", &[vec!["symbol".into(), "ts".into()]]),
            vec!["CREATE INDEX \"idx_bars_symbol_ts\" ON \"bars\" (\"symbol\", \"ts\")".to_string()]
        );
    }
}
