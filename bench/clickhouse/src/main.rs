//! store-clickhouse's sink beside `clickhouse-client --query "INSERT … FORMAT TabSeparated"`,
//! the server's own fastest path from a file, loading the same rows into ClickHouse 18.16.
//! Not a test: nothing asserts a time. Each contender runs as a child process (its wall time
//! and peak RSS measured by `wait4`), BENCH_RUNS times (default 3), and the medians are shown.
//!
//! Both read the same rows from a file in their own input format: the baseline TabSeparated,
//! ours an Arrow IPC file (batches of 65,536 rows), which it streams as RowBinary into a
//! staging table and swaps in.
//!
//! Usage: `bench-clickhouse [ROWS]` (default 2,000,000; the server from .services/env), and
//! `bench-clickhouse --load URL DB FILE` (the child that loads; used by the benchmark).

use arrow::array::{
    ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray, TimestampSecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use migrate_core::{IfExists, TableSink};
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use store_clickhouse::{ClickHouseConfig, ClickHouseStore};

const BATCH: i64 = 65_536;
const DB: &str = "migrate_bench_ch";
const COLUMNS: &str =
    "id Int64, ts DateTime('UTC'), symbol String, price Float64, qty Int32, note Nullable(String)";

fn schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("ts", DataType::Timestamp(TimeUnit::Second, Some("UTC".into())), false),
        Field::new("symbol", DataType::Utf8, false),
        Field::new("price", DataType::Float64, false),
        Field::new("qty", DataType::Int32, false),
        Field::new("note", DataType::Utf8, true),
    ]))
}

fn symbol(i: i64) -> String {
    format!("SYM{:05}", i % 5_000)
}

fn note(i: i64) -> Option<String> {
    (i % 5 != 0).then(|| format!("order {i} filled"))
}

/// Rows `start..end` as one batch.
fn batch(start: i64, end: i64) -> RecordBatch {
    let ids: Vec<i64> = (start..end).collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(ids.clone())),
        Arc::new(
            TimestampSecondArray::from(ids.iter().map(|i| 1_700_000_000 + i).collect::<Vec<_>>())
                .with_timezone("UTC"),
        ),
        Arc::new(StringArray::from(ids.iter().map(|i| symbol(*i)).collect::<Vec<_>>())),
        Arc::new(Float64Array::from(ids.iter().map(|i| *i as f64 * 0.25).collect::<Vec<_>>())),
        Arc::new(Int32Array::from(ids.iter().map(|i| (i % 1000) as i32).collect::<Vec<_>>())),
        Arc::new(StringArray::from(ids.iter().map(|i| note(*i)).collect::<Vec<_>>())),
    ];
    RecordBatch::try_new(schema(), columns).expect("columns match the schema")
}

/// The same rows as TabSeparated, as clickhouse-client reads them.
fn write_tsv(path: &std::path::Path, rows: i64) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("create the TSV file"));
    for i in 0..rows {
        let ts = 1_700_000_000 + i;
        let note = note(i).unwrap_or_else(|| "\\N".into());
        writeln!(out, "{i}\t{ts}\t{}\t{}\t{}\t{note}", symbol(i), i as f64 * 0.25, i % 1000).expect("write");
    }
    out.flush().expect("flush");
}

/// The same rows as an Arrow IPC file, which ours reads (as the baseline reads its TSV file).
fn write_arrow(path: &std::path::Path, rows: i64) {
    let file = std::fs::File::create(path).expect("create the Arrow file");
    let mut writer =
        arrow::ipc::writer::FileWriter::try_new(std::io::BufWriter::new(file), &schema()).expect("writer");
    let mut start = 0;
    while start < rows {
        let end = (start + BATCH).min(rows);
        writer.write(&batch(start, end)).expect("write a batch");
        start = end;
    }
    writer.finish().expect("finish the Arrow file");
}

async fn load(url: &str, db: &str, file: &str) {
    let config = ClickHouseConfig::parse(url).expect("URL").with_database(db);
    let store = ClickHouseStore::connect(config).await.unwrap_or_else(|e| panic!("{e}"));
    let reader =
        arrow::ipc::reader::FileReader::try_new(std::fs::File::open(file).expect("Arrow file"), None)
            .expect("reader");
    let mut load =
        store.begin("ours", reader.schema(), IfExists::Replace).await.unwrap_or_else(|e| panic!("{e}"));
    for batch in reader {
        load.write(batch.expect("a batch")).await.unwrap_or_else(|e| panic!("{e}"));
    }
    load.commit().await.unwrap_or_else(|e| panic!("{e}"));
}

/// Wall time and peak RSS (KiB) of a child process.
fn run_child(mut cmd: Command) -> (Duration, u64) {
    let start = Instant::now();
    let child = cmd.stdout(Stdio::null()).spawn().expect("spawn");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our own child; status and usage point at live locals.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let elapsed = start.elapsed();
    assert!(waited == pid && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "{cmd:?} failed");
    std::mem::forget(child);
    (elapsed, usage.ru_maxrss as u64)
}

fn url() -> String {
    if let Ok(url) = std::env::var("MIGRATE_TEST_CLICKHOUSE_URL") {
        return url;
    }
    let env = std::fs::read_to_string(".services/env").expect("start ClickHouse: scripts/services up");
    env.lines()
        .find_map(|l| l.strip_prefix("MIGRATE_TEST_CLICKHOUSE_URL=").map(str::to_string))
        .expect("MIGRATE_TEST_CLICKHOUSE_URL in .services/env")
}

fn sql(url: &str, statement: &str) -> String {
    let out = Command::new("curl")
        .args(["-sS", "--fail-with-body", "--data-binary", statement, url])
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{statement}: {text}");
    text
}

fn median(mut runs: Vec<(Duration, u64)>) -> (Duration, u64) {
    let rss = runs.iter().map(|r| r.1).max().unwrap_or(0);
    runs.sort();
    (runs[runs.len() / 2].0, rss)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--load") {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(load(&args[1], &args[2], &args[3]));
        return;
    }
    let rows: i64 =
        args.first().map(|a| a.replace(['_', ','], "").parse().expect("ROWS")).unwrap_or(2_000_000);
    let runs: usize = std::env::var("BENCH_RUNS").ok().and_then(|r| r.parse().ok()).unwrap_or(3);
    let url = url();
    let tcp_port = std::env::var("MIGRATE_CH_TCP_PORT").unwrap_or_else(|_| "19000".into());
    // BENCH_COMPRESSION=none sends inserts uncompressed (lz4 by default, as store-clickhouse does).
    let compression = std::env::var("BENCH_COMPRESSION").unwrap_or_else(|_| "lz4".into());
    let version = sql(&url, "SELECT version()");
    println!("ClickHouse {} at {url}: {rows} rows, {runs} runs each", version.trim());
    sql(&url, &format!("DROP DATABASE IF EXISTS {DB}"));
    sql(&url, &format!("CREATE DATABASE {DB}"));
    let dir = std::env::temp_dir().join(format!("bench-clickhouse-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let tsv = dir.join("rows.tsv");
    write_tsv(&tsv, rows);
    let arrow_file = dir.join("rows.arrow");
    write_arrow(&arrow_file, rows);
    let size = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len() as f64 / 1048576.0).unwrap_or(0.0);
    println!(
        "input files: TabSeparated {:.0} MiB (clickhouse-client), Arrow IPC {:.0} MiB (ours)",
        size(&tsv),
        size(&arrow_file)
    );

    let me = std::env::current_exe().expect("own path");
    let (mut base, mut ours) = (Vec::new(), Vec::new());
    for round in 1..=runs {
        sql(&url, &format!("DROP TABLE IF EXISTS {DB}.base"));
        sql(&url, &format!("CREATE TABLE {DB}.base ({COLUMNS}) ENGINE = MergeTree ORDER BY tuple()"));
        let mut client = Command::new("clickhouse-client");
        client
            .args(["--host", "127.0.0.1", "--port", &tcp_port, "--query"])
            .arg(format!("INSERT INTO {DB}.base FORMAT TabSeparated"))
            .stdin(std::fs::File::open(&tsv).expect("TSV file"));
        base.push(run_child(client));
        let mut sink = Command::new(&me);
        sink.args(["--load", &format!("{url}/?compression={compression}"), DB]).arg(&arrow_file);
        ours.push(run_child(sink));
        for table in ["base", "ours"] {
            let n: i64 =
                sql(&url, &format!("SELECT count() FROM {DB}.{table}")).trim().parse().expect("count");
            assert_eq!(n, rows, "{table} holds every row");
        }
        let (b, o) = (base.last().expect("run"), ours.last().expect("run"));
        println!(
            "round {round}: clickhouse-client {:.2}s, store-clickhouse {:.2}s",
            b.0.as_secs_f64(),
            o.0.as_secs_f64()
        );
    }
    let same = sql(
        &url,
        &format!(
            "SELECT (SELECT groupBitXor(cityHash64(id, ts, symbol, price, qty, ifNull(note, '<null>'))) FROM {DB}.base) = \
             (SELECT groupBitXor(cityHash64(id, ts, symbol, price, qty, ifNull(note, '<null>'))) FROM {DB}.ours)"
        ),
    );
    assert_eq!(same.trim(), "1", "both tables hold the same rows");
    let (b, o) = (median(base), median(ours));
    let rate = |d: Duration| rows as f64 / d.as_secs_f64();
    println!();
    println!("| contender | median time | rows/s | peak RSS |");
    println!("|---|---|---|---|");
    println!(
        "| clickhouse-client INSERT … FORMAT TabSeparated (from a file) | {:.2} s | {:.0} | {:.0} MiB |",
        b.0.as_secs_f64(),
        rate(b.0),
        b.1 as f64 / 1024.0
    );
    println!(
        "| store-clickhouse sink (Native blocks, compression {compression}, staging + swap) | {:.2} s | {:.0} | {:.0} MiB |",
        o.0.as_secs_f64(),
        rate(o.0),
        o.1 as f64 / 1024.0
    );
    println!();
    println!(
        "ratio (clickhouse-client time / ours): {:.2}x; identical content checked by the server",
        b.0.as_secs_f64() / o.0.as_secs_f64()
    );
    sql(&url, &format!("DROP DATABASE {DB}"));
    let _ = std::fs::remove_dir_all(&dir);
}
