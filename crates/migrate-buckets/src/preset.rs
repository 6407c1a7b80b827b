//! The named migrations (QPI exports, ClickHouse export staging) and the generic one.

use migrate_objects::{CriticalKind, DATA_KINDS};

/// Which documented migration a binary runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// `gs://data-bucket-{env}/QPI_exports/` → `gs://de-bigquery-data-export-{env}/qpi_exports/`.
    QpiExports,
    /// `gs://data-bucket-{env}/clickhouse_export/` → `gs://de-bigquery-data-export-{env}/clickhouse_export/`.
    ClickhouseExport,
    /// Any `--from` → `--to`.
    Generic,
}

impl Preset {
    /// Name of the migrate binary.
    pub fn migrate_binary(self) -> &'static str {
        match self {
            Preset::QpiExports => "migrate-qpi-exports",
            Preset::ClickhouseExport => "migrate-clickhouse-export",
            Preset::Generic => "migrate-prefix",
        }
    }

    /// Name of the delete binary.
    pub fn delete_binary(self) -> &'static str {
        match self {
            Preset::QpiExports => "delete-old-qpi-exports",
            Preset::ClickhouseExport => "delete-old-clickhouse-export",
            Preset::Generic => "delete-prefix",
        }
    }

    /// Source and target URLs for `env`; `None` for the generic preset.
    pub fn urls(self, env: &str) -> Option<(String, String)> {
        let folders = match self {
            Preset::QpiExports => ("QPI_exports", "qpi_exports"),
            Preset::ClickhouseExport => ("clickhouse_export", "clickhouse_export"),
            Preset::Generic => return None,
        };
        Some((
            format!("gs://data-bucket-{env}/{}/", folders.0),
            format!("gs://de-bigquery-data-export-{env}/{}/", folders.1),
        ))
    }

    /// Files every date partition must hold.
    pub fn critical(self) -> CriticalKind {
        match self {
            Preset::QpiExports => CriticalKind::AnyOf(vec!["jsonl".into()]),
            Preset::ClickhouseExport => {
                CriticalKind::AnyOf(DATA_KINDS.iter().map(|k| k.to_string()).collect())
            }
            Preset::Generic => CriticalKind::None,
        }
    }

    /// What the documents call the critical files.
    pub fn critical_label(self) -> &'static str {
        match self {
            Preset::QpiExports => "JSONL export files",
            Preset::ClickhouseExport => "export data files (CSV, Parquet, JSON, compressed)",
            Preset::Generic => "none",
        }
    }
}

/// `migrate_qpi_exports_prod` from `migrate-qpi-exports` and `prod`: the log file's stem.
pub fn log_stem(binary: &str, env: Option<&str>) -> String {
    let tool = binary.replace('-', "_");
    match env {
        Some(env) => format!("{tool}_{env}"),
        None => tool,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_derive_the_documented_locations() {
        assert_eq!(
            Preset::QpiExports.urls("prod").unwrap(),
            (
                "gs://data-bucket-prod/QPI_exports/".into(),
                "gs://de-bigquery-data-export-prod/qpi_exports/".into()
            )
        );
        assert_eq!(
            Preset::ClickhouseExport.urls("dev").unwrap(),
            (
                "gs://data-bucket-dev/clickhouse_export/".into(),
                "gs://de-bigquery-data-export-dev/clickhouse_export/".into()
            )
        );
        assert_eq!(Preset::Generic.urls("dev"), None);
        assert_eq!(log_stem("delete-old-qpi-exports", Some("prod")), "delete_old_qpi_exports_prod");
    }
}
