//! ALTER TABLE … UPDATE / DELETE, waited for. Current servers wait themselves
//! (`mutations_sync = 2`); older ones (18.16) run mutations in the background, so the new
//! mutation is found in `system.mutations` and polled until done, surfacing the server's
//! failure reason where it records one.

use crate::error::{ChError, Result};
use crate::server::{ClickHouse, Statement};
use crate::sql::{literal, qualified};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

impl ClickHouse {
    /// Runs `ALTER TABLE <table> <command>` (`UPDATE x = 1 WHERE …`, `DELETE WHERE …`) in the
    /// configured database and waits up to `timeout` for it to finish on every replica.
    pub async fn mutate(&self, table: &str, command: &str, timeout: Duration) -> Result<()> {
        let alter = format!("ALTER TABLE {} {command}", qualified(self.database(), table));
        let before = self.mutation_ids(table).await?;
        if self.capabilities().mutations_sync() {
            self.execute(Statement::new(alter).setting("mutations_sync", "2")).await?;
        } else {
            self.execute(alter).await?;
        }
        let after = self.mutation_ids(table).await?;
        for id in after.difference(&before) {
            self.wait_for_mutation(table, id, timeout).await?;
        }
        Ok(())
    }

    async fn mutation_ids(&self, table: &str) -> Result<BTreeSet<String>> {
        let rows = self
            .fetch_rows(format!(
                "SELECT mutation_id FROM system.mutations WHERE database = {} AND table = {}",
                literal(self.database()),
                literal(table)
            ))
            .await?;
        Ok(rows.into_iter().filter_map(|r| r.into_iter().next()).collect())
    }

    /// Polls `system.mutations` until mutation `id` of `table` (in the configured database) is
    /// done, failed or out of time.
    pub async fn wait_for_mutation(&self, table: &str, id: &str, timeout: Duration) -> Result<()> {
        self.wait_for_mutation_in(self.database(), table, id, timeout).await
    }

    /// [`Self::wait_for_mutation`] for a table of any database.
    pub async fn wait_for_mutation_in(
        &self,
        database: &str,
        table: &str,
        id: &str,
        timeout: Duration,
    ) -> Result<()> {
        let reason = if self.capabilities().mutation_fail_reason() { "latest_fail_reason" } else { "''" };
        let sql = format!(
            "SELECT is_done, parts_to_do, {reason} FROM system.mutations WHERE database = {} AND table = {} AND mutation_id = {}",
            literal(database),
            literal(table),
            literal(id)
        );
        let started = Instant::now();
        let mut pause = Duration::from_millis(50);
        let mut reported = Duration::ZERO;
        loop {
            let rows = self.fetch_rows(sql.as_str()).await?;
            let Some(row) = rows.first() else { return Ok(()) };
            let field = |i: usize| row.get(i).map(String::as_str).unwrap_or("");
            if field(0) == "1" {
                return Ok(());
            }
            let failure =
                |detail: String| ChError::Mutation { table: table.into(), mutation_id: id.into(), detail };
            if !field(2).is_empty() {
                return Err(failure(format!("failed: {}", field(2))));
            }
            if started.elapsed() >= timeout {
                return Err(failure(format!(
                    "not done after {}s ({} parts to do); it goes on in the background",
                    timeout.as_secs(),
                    field(1)
                )));
            }
            // A long wait says where it is every ten seconds.
            if started.elapsed() >= reported + Duration::from_secs(10) {
                reported = started.elapsed();
                tracing::info!(
                    "waiting for mutation {id} on {database}.{table}: {} part(s) to do after {} s",
                    field(1),
                    reported.as_secs()
                );
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }
}
