//! Templates for `create --template table|alter|index|data`: the project's `templates/` files
//! when present (the seed's `create_table.sql`, `alter_table.sql`, `create_index.sql`,
//! `data_migration.sql`), otherwise the built-in ones. A template's `{version}`, `{name}`,
//! `{table_name}`, `{description}` and `{created}` are filled in; its `-- Template:` and
//! `-- Usage:` lines are dropped. `${…}` placeholders stay for `migrate` to fill.

/// A template kind and its file under `templates/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A new table.
    Table,
    /// A column added to a table.
    Alter,
    /// A data-skipping index, built for existing rows too.
    Index,
    /// Rows copied from one table into another, counted before and after.
    Data,
}

impl Kind {
    /// Every kind, in the order `--help` lists them.
    pub const ALL: [Kind; 4] = [Kind::Table, Kind::Alter, Kind::Index, Kind::Data];

    /// The kind `--template` names.
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Table => "table",
            Kind::Alter => "alter",
            Kind::Index => "index",
            Kind::Data => "data",
        }
    }

    /// Its file name under `templates/`.
    pub fn file_name(self) -> &'static str {
        match self {
            Kind::Table => "create_table.sql",
            Kind::Alter => "alter_table.sql",
            Kind::Index => "create_index.sql",
            Kind::Data => "data_migration.sql",
        }
    }

    /// The built-in text.
    pub fn builtin(self) -> &'static str {
        match self {
            Kind::Table => TABLE,
            Kind::Alter => ALTER,
            Kind::Index => INDEX,
            Kind::Data => DATA,
        }
    }
}

/// What a template's `{…}` variables become.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Values {
    /// `{version}`.
    pub version: u64,
    /// `{name}`: the migration's name as given.
    pub name: String,
    /// `{table_name}`.
    pub table_name: String,
    /// `{created}`: today's date.
    pub created: String,
}

/// The table a migration's name is about: `create_products` → `products`,
/// `add_email_to_users` → `users`, `alter_users_table` → `users`.
pub fn table_name(name: &str) -> String {
    let mut rest = name;
    if let Some((_, after)) = rest.rsplit_once("_to_") {
        rest = after;
    } else if let Some((_, after)) = rest.rsplit_once("_on_") {
        rest = after;
    }
    for prefix in ["create_", "alter_", "migrate_", "index_", "add_index_", "add_", "drop_", "update_"] {
        if let Some(r) = rest.strip_prefix(prefix).filter(|r| !r.is_empty()) {
            rest = r;
            break;
        }
    }
    rest.strip_suffix("_table").filter(|r| !r.is_empty()).unwrap_or(rest).to_string()
}

/// Fills in `template`.
pub fn render(template: &str, values: &Values) -> String {
    let title = values.name.replace('_', " ");
    let text: String = template
        .lines()
        .filter(|l| {
            let t = l.trim_start();
            !(t.starts_with("-- Template:") || t.starts_with("-- Usage:"))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    text.trim_start_matches('\n')
        .replace("{version}", &values.version.to_string())
        .replace("{table_name}", &values.table_name)
        .replace("{description}", &title)
        .replace("{created}", &values.created)
        .replace("{name}", &values.name)
}

const TABLE: &str = "-- Template: Create table with standard fields
-- Usage: ch-migrate create --template table --name create_products

-- Migration: Create {table_name} table
-- Version: {version}
-- Description: Create {table_name} table with standard structure
-- Created: {created}
-- Dependencies:
-- Environment: all

-- Forward Migration
CREATE TABLE IF NOT EXISTS ${database}.{table_name} ${on_cluster} (
    id UInt32,
    name String,
    description String,
    created_at DateTime DEFAULT now(),
    updated_at DateTime DEFAULT now()
) ENGINE = ${replicated}MergeTree()
PARTITION BY toYYYYMM(created_at)
ORDER BY id;

-- Rollback Migration
-- ROLLBACK: DROP TABLE IF EXISTS ${database}.{table_name} ${on_cluster};
";

const ALTER: &str = "-- Template: Add a column to a table
-- Usage: ch-migrate create --template alter --name add_status_to_orders

-- Migration: {description}
-- Version: {version}
-- Description: {description}
-- Created: {created}
-- Dependencies:
-- Environment: all

-- Forward Migration
ALTER TABLE ${database}.{table_name} ${on_cluster} ADD COLUMN new_column String DEFAULT '';

-- Rollback Migration
-- ROLLBACK: ALTER TABLE ${database}.{table_name} ${on_cluster} DROP COLUMN new_column;
";

const INDEX: &str = "-- Template: Data-skipping index, built for the rows already there
-- Usage: ch-migrate create --template index --name index_orders_created_at

-- Migration: {description}
-- Version: {version}
-- Description: {description}
-- Created: {created}
-- Dependencies:
-- Environment: all

-- Forward Migration
ALTER TABLE ${database}.{table_name} ${on_cluster} ADD INDEX idx_{table_name}_column column TYPE minmax GRANULARITY 4;
-- Build it for existing parts (a mutation: migrate waits for it)
ALTER TABLE ${database}.{table_name} ${on_cluster} MATERIALIZE INDEX idx_{table_name}_column;

-- Rollback Migration
-- ROLLBACK: ALTER TABLE ${database}.{table_name} ${on_cluster} DROP INDEX idx_{table_name}_column;
";

const DATA: &str = "-- Template: Data migration with validation
-- Usage: ch-migrate create --template data --name migrate_user_data

-- Migration: {description}
-- Version: {version}
-- Description: {description}
-- Created: {created}
-- Dependencies:
-- Environment: all

-- Forward Migration
-- Validate source data
SELECT count() AS source_count FROM ${database}.old_{table_name};

-- Perform data migration
INSERT INTO ${database}.{table_name} (id, created_at)
SELECT id, created_at
FROM ${database}.old_{table_name}
WHERE id IS NOT NULL;

-- Validate migration
SELECT count() AS target_count FROM ${database}.{table_name};

-- Rollback Migration (a mutation: rollback waits for it)
-- ROLLBACK: ALTER TABLE ${database}.{table_name} DELETE WHERE id IN (SELECT id FROM ${database}.old_{table_name});
";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file::parse_versioned;
    use crate::placeholders::Placeholders;

    #[test]
    fn table_names_come_from_migration_names() {
        for (name, table) in [
            ("create_products", "products"),
            ("add_email_to_users", "users"),
            ("alter_users_table", "users"),
            ("index_orders", "orders"),
            ("migrate_user_data", "user_data"),
            ("events", "events"),
            ("create_", "create_"),
        ] {
            assert_eq!(table_name(name), table, "{name}");
        }
    }

    #[test]
    fn every_builtin_renders_to_a_valid_migration_on_one_node_and_a_cluster() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.name()), Some(kind));
            let values = Values {
                version: 7,
                name: "create_products".into(),
                table_name: "products".into(),
                created: "2026-12-07".into(),
            };
            let text = render(kind.builtin(), &values);
            assert!(!text.contains("-- Template:") && !text.contains("-- Usage:"), "{text}");
            assert!(!text.contains("{table_name}") && !text.contains("{version}"), "{text}");
            let m = parse_versioned("V7__create_products.sql", &text)
                .unwrap_or_else(|p| panic!("{}: {p:?}", kind.name()));
            assert_eq!(m.version, 7);
            assert!(!m.rollback.is_empty(), "{}: has a rollback", kind.name());
            for cluster in [None, Some("replicated".to_string())] {
                let values = Placeholders { database: "db".into(), cluster, custom: Default::default() };
                let statements = m.statements(&values).expect("no unknown placeholder");
                assert!(statements.iter().all(|s| s.contains("db.")), "{statements:?}");
            }
        }
        assert_eq!(Kind::parse("view"), None);
    }
}
