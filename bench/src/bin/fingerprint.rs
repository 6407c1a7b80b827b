//! Verification cost: our order-independent fingerprint of a bars_1s-like table, read from
//! DuckDB as Arrow, against DuckDB hashing the same table in-engine
//! (`SELECT count(*), sum(hash(<all columns>))`, multi-threaded, no data leaving the engine).
//!
//! Usage: `fingerprint [ROWS]` (default 5,000,000 rows).

use migrate_bench::{peak_rss_mib, rate, thousands, timed};
use migrate_core::Fingerprint;

const COLUMNS: &str = "symbol, ts, open, high, low, close, volume, trades";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rows: u64 = match std::env::args().nth(1) {
        Some(n) => n.replace(['_', ','], "").parse()?,
        None => 5_000_000,
    };
    let conn = duckdb::Connection::open_in_memory()?;
    let threads: i64 = conn.query_row("SELECT current_setting('threads')", [], |r| r.get(0))?;
    println!("fingerprint benchmark: {} rows of bars_1s, DuckDB threads={threads}", thousands(rows as f64));
    conn.execute_batch(&format!(
        "CREATE TABLE bars_1s AS
         SELECT ['BTCUSDT','ETHUSDT','SOLUSDT','XRPUSDT'][1 + (i % 4)::INT] AS symbol,
                1700000000000 + i * 1000 AS ts,
                (30000 + (i % 1000) * 0.5)::DOUBLE AS open, (30010 + (i % 997) * 0.5)::DOUBLE AS high,
                (29990 + (i % 991) * 0.5)::DOUBLE AS low, (30005 + (i % 983) * 0.5)::DOUBLE AS close,
                ((i % 10007) * 0.001)::DOUBLE AS volume,
                CASE WHEN i % 17 = 0 THEN NULL ELSE (i % 500)::INTEGER END AS trades
         FROM range({rows}) t(i)"
    ))?;

    let (baseline, baseline_took) = timed(|| -> duckdb::Result<(i64, String)> {
        conn.query_row(
            &format!("SELECT count(*), sum(hash({COLUMNS})::HUGEINT)::VARCHAR FROM bars_1s"),
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    });
    let (baseline_rows, _) = baseline?;

    let (ours, ours_took) = timed(|| -> Result<Fingerprint, Box<dyn std::error::Error>> {
        let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM bars_1s"))?;
        let mut fp = Fingerprint::default();
        for batch in stmt.stream_arrow([])? {
            fp.update(&batch?)?;
        }
        Ok(fp)
    });
    let ours = ours?;
    assert_eq!(ours.rows, baseline_rows as u64, "both sides must see every row");

    let (ours_rate, base_rate) = (rate(ours.rows, ours_took), rate(rows, baseline_took));
    println!("{:<44} {:>14} {:>10}", "", "rows/s", "seconds");
    println!(
        "{:<44} {:>14} {:>10.2}",
        "migrate fingerprint (DuckDB → Arrow → xxh3)",
        thousands(ours_rate),
        ours_took.as_secs_f64()
    );
    println!(
        "{:<44} {:>14} {:>10.2}",
        "DuckDB sum(hash(row)) in-engine",
        thousands(base_rate),
        baseline_took.as_secs_f64()
    );
    println!("ratio migrate / DuckDB: {:.2}x", ours_rate / base_rate);
    if let Some(mib) = peak_rss_mib() {
        println!("peak RSS (whole process, table held by DuckDB in memory): {mib:.0} MiB");
    }
    println!("fingerprint: {ours}");
    Ok(())
}
