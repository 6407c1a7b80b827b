//! The PostgreSQL schema: the seed's source tables as `generate-test-data` creates them (the
//! columns are ours; the seed names only the tables), its watermark table extended with the
//! tie-breaker key, and the batch ledger.

/// `datasets` and the seed's three source tables.
pub const SOURCE_TABLES: &str = "
CREATE TABLE IF NOT EXISTS datasets (
    id          text PRIMARY KEY,
    slug        text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS dataset_access_audit (
    id          bigserial PRIMARY KEY,
    dataset_id  text NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    actor       text NOT NULL,
    action      text NOT NULL,
    resource    text,
    status      text NOT NULL,
    metadata    jsonb NOT NULL DEFAULT '{}',
    occurred_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS dataset_access_audit_age ON dataset_access_audit (dataset_id, occurred_at, id);
CREATE TABLE IF NOT EXISTS lifecycle_audit_log (
    id          bigserial PRIMARY KEY,
    dataset_id  text NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    event_type  text NOT NULL,
    payload     jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS lifecycle_audit_log_age ON lifecycle_audit_log (dataset_id, created_at, id);
CREATE TABLE IF NOT EXISTS lifecycle_job_runs (
    id          uuid PRIMARY KEY,
    dataset_id  text NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    operation   text NOT NULL,
    status      text NOT NULL,
    error       text,
    attempts    integer NOT NULL DEFAULT 1,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz
);
CREATE INDEX IF NOT EXISTS lifecycle_job_runs_age ON lifecycle_job_runs (dataset_id, started_at, id);
";

/// The watermark table (`{table}`): the seed's columns plus the key of the last row moved, so a
/// batch can end between two rows of the same time.
pub fn watermark_table(table: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {table} (
    dataset_id          TEXT NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    table_name          TEXT NOT NULL,
    watermark_timestamp TIMESTAMPTZ NOT NULL,
    watermark_key       TEXT[] NOT NULL DEFAULT '{{}}',
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    PRIMARY KEY (dataset_id, table_name)
)"
    )
}

/// The batch ledger (`{table}`): one row per batch, with its range, what PostgreSQL held in it
/// and when it was written, verified and cleaned.
pub fn ledger_table(table: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {table} (
    id              bigserial PRIMARY KEY,
    dataset_id      TEXT NOT NULL,
    table_name      TEXT NOT NULL,
    after_time      TIMESTAMPTZ,
    after_key       TEXT[],
    through_time    TIMESTAMPTZ NOT NULL,
    through_key     TEXT[] NOT NULL DEFAULT '{{}}',
    rows            BIGINT NOT NULL,
    fingerprint     TEXT NOT NULL,
    stage           TEXT NOT NULL CHECK (stage IN ('writing', 'verified', 'cleaned')),
    written_at      TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    verified_at     TIMESTAMPTZ,
    cleaned_at      TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS {table}_open ON {table} (dataset_id, table_name, stage)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tables_are_named_as_configured() {
        assert!(watermark_table("wm").starts_with("CREATE TABLE IF NOT EXISTS wm ("));
        assert!(watermark_table("wm").contains("watermark_key       TEXT[] NOT NULL DEFAULT '{}'"));
        assert!(ledger_table("batches").contains("CREATE INDEX IF NOT EXISTS batches_open ON batches"));
        for table in ["dataset_access_audit", "lifecycle_audit_log", "lifecycle_job_runs", "datasets"] {
            assert!(SOURCE_TABLES.contains(&format!("CREATE TABLE IF NOT EXISTS {table} (")), "{table}");
        }
    }
}
