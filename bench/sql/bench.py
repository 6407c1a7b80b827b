#!/usr/bin/env python3
"""migrate-sql beside DuckDB's own tools (not a test: nothing asserts a time).

Generates bars_1s with ROWS rows as Parquet (fixtures/migrate-sql/generate), then loads it:
  PostgreSQL: migrate-sql --mode migrate, DuckDB's postgres extension (ATTACH … TYPE postgres;
              CREATE TABLE pg.t AS SELECT …), and `duckdb` CSV to stdout piped into psql \\copy.
  SQLite:     migrate-sql --mode migrate, DuckDB's sqlite extension.
migrate-sql's migrate mode verifies at the end: its load is the whole run less that verify
pass (timed from the run's own log), and the verify pass is reported apart. For reference,
PostgreSQL alone loads the same rows from binary files with two server-side COPYs. Every
contender starts after a CHECKPOINT and a sync, and runs BENCH_RUNS times (default 3) in
rounds; medians are shown with rows/s, ratios and peak RSS. bench/sql/wait_events.py shows
what the COPY backends wait on during a load.

Usage: bench/sql/bench.py BIN_DIR [ROWS] (DuckDB CLI and extensions come from PyPI into
.services/bench-venv; PostgreSQL at 127.0.0.1:5432 as user postgres).
"""
import datetime
import glob
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DUCKDB_VERSION = "1.5.5"
PG = "host=127.0.0.1 port=5432 user=postgres"
DB = "migrate_bench"
CSV_PIPE = "duckdb CSV | psql \\copy"
SERVER_ALONE = "PostgreSQL alone: 2 server-side binary COPYs from files"
PG_OURS = "migrate-sql → PostgreSQL (load)"
SQLITE_OURS = "migrate-sql → SQLite (load)"
PG_EXT = "DuckDB postgres extension"
SQLITE_EXT = "DuckDB sqlite extension"


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def duckdb_tools():
    venv = os.path.join(ROOT, ".services", "bench-venv")
    py = os.path.join(venv, "bin", "python")
    if not os.path.exists(py):
        sh([sys.executable, "-m", "venv", venv])
    sh([py, "-m", "pip", "install", "-q", f"duckdb-cli=={DUCKDB_VERSION}",
        f"duckdb-extension-postgres-scanner=={DUCKDB_VERSION}",
        f"duckdb-extension-sqlite-scanner=={DUCKDB_VERSION}"])
    site = subprocess.check_output([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                   text=True).strip()
    cli = os.path.join(site, "duckdb_cli", "duckdb")
    ext = lambda pkg, name: os.path.join(site, pkg, "extensions", f"v{DUCKDB_VERSION}", f"{name}.duckdb_extension")
    return cli, ext("duckdb_extension_postgres_scanner", "postgres_scanner"), ext(
        "duckdb_extension_sqlite_scanner", "sqlite_scanner")


def timed(cmd, env=None, shell=False):
    """Wall seconds and peak RSS (MiB) of one command (a shell pipeline counts its largest process)."""
    os.sync()  # the files the previous contender wrote are not written back during this one
    start = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, shell=shell, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.monotonic() - start
    if status != 0:
        err = proc.stderr.read().decode(errors="replace")
        raise SystemExit(f"failed ({status}): {cmd}\n{err[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024


def psql(sql, db=DB):
    sh(["psql", f"{PG} dbname={db}", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], stdout=subprocess.DEVNULL)


def server_alone(work, rows):
    """PostgreSQL's own ceiling here: the loaded table written to two binary files by the
    server, then read back by two server-side COPYs at once into one table (no client work)."""
    spool = os.path.join(work, "spool")
    os.makedirs(spool, exist_ok=True)
    os.chmod(work, 0o755)
    os.chmod(spool, 0o777)
    halves = [os.path.join(spool, f"half{i}.bin") for i in (0, 1)]
    half = rows // 2
    psql(f"COPY (SELECT * FROM bars_1s LIMIT {half}) TO '{halves[0]}' (FORMAT binary)")
    psql(f"COPY (SELECT * FROM bars_1s OFFSET {half}) TO '{halves[1]}' (FORMAT binary)")
    psql("CREATE TABLE bars_1s_server (LIKE bars_1s)")
    psql("CHECKPOINT")
    copies = " & ".join(
        f"psql '{PG} dbname={DB}' -q -c \"COPY bars_1s_server FROM '{h}' (FORMAT binary)\"" for h in halves)
    t, _ = timed(f"{copies} & wait", shell=True)
    psql("DROP TABLE bars_1s_server")
    shutil.rmtree(spool, ignore_errors=True)
    return (t, None, "reference: the server's own limit, not a contender")


def verify_seconds(log_dir):
    """Seconds between the newest run log's "Verifying migration integrity..." and its verdict."""
    newest = max((os.path.join(log_dir, f) for f in os.listdir(log_dir)), key=os.path.getmtime)
    marks = {}
    with open(newest, encoding="utf-8") as f:
        for line in f:
            for key, text in (("start", "Verifying migration integrity"), ("end", "Migration verification:")):
                if text in line:
                    marks[key] = datetime.datetime.fromisoformat(line[:23])
    return (marks["end"] - marks["start"]).total_seconds()


def one_round(work, rows, config, parquet, migrate_sql, duckdb, pg_ext, sqlite_ext, pg_url):
    """Every contender once: label → (seconds, peak RSS MiB or None, note)."""
    out = {}

    def ours(label, url):
        # The load is the whole `--mode migrate` run (start-up, counting, staging, swap) less
        # its own verification, timed from the run's log; the verify pass is reported apart.
        env = {**os.environ, "CRYPTO_DB_URL": url}
        log_dir = os.path.join(work, "logs", label.split()[2])
        total, rss = timed([migrate_sql, "--mode", "migrate", "--config", config, "--log-dir", log_dir], env=env)
        verify = verify_seconds(log_dir)
        out[label] = (total - verify, rss, "")
        out[label.replace("(load", "(verify pass")] = (verify, None, "source and target read and fingerprinted")

    def drop_pg():
        # Each PostgreSQL contender starts from a checkpoint, so none pays for the dirty
        # buffers and WAL the one before it left behind.
        psql("DROP TABLE IF EXISTS bars_1s")
        psql("CHECKPOINT")

    drop_pg()
    ours(PG_OURS, pg_url)
    out[SERVER_ALONE] = server_alone(work, rows)
    drop_pg()
    sql = (f"LOAD '{pg_ext}'; ATTACH '{PG} dbname={DB}' AS pg (TYPE postgres); "
           f"CREATE TABLE pg.bars_1s AS SELECT * FROM read_parquet('{parquet}');")
    t, rss = timed([duckdb, "-unsigned", "-c", sql])
    out[PG_EXT] = (t, rss, "")
    drop_pg()
    psql("CREATE TABLE bars_1s (symbol text, ts bigint, open double precision, high double precision, "
         "low double precision, close double precision, volume double precision, trades integer)")
    pipe = (f"{duckdb} -c \"COPY (SELECT * FROM read_parquet('{parquet}')) TO '/dev/stdout' (FORMAT csv, HEADER false)\" "
            f"| psql '{PG} dbname={DB}' -q -c '\\copy bars_1s FROM STDIN CSV'")
    t, rss = timed(pipe, shell=True)
    out[CSV_PIPE] = (t, rss, "psql's RSS (the largest process of the pipe)")
    drop_pg()

    sqlite_ours = os.path.join(work, "ours.db")
    for leftover in glob.glob(sqlite_ours + "*"):
        os.remove(leftover)
    ours(SQLITE_OURS, f"sqlite:///{sqlite_ours}")
    sqlite_duck = os.path.join(work, "duck.db")
    for leftover in glob.glob(sqlite_duck + "*"):
        os.remove(leftover)
    sql = (f"LOAD '{sqlite_ext}'; ATTACH '{sqlite_duck}' AS s (TYPE sqlite); "
           f"CREATE TABLE s.bars_1s AS SELECT * FROM read_parquet('{parquet}');")
    t, rss = timed([duckdb, "-unsigned", "-c", sql])
    out[SQLITE_EXT] = (t, rss, "")
    return out


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    bin_dir = sys.argv[1]
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000_000
    migrate_sql = os.path.join(bin_dir, "migrate-sql")
    duckdb, pg_ext, sqlite_ext = duckdb_tools()
    work = tempfile.mkdtemp(prefix="bench-sql-")
    data = os.path.join(work, "data")
    print(f"generating bars_1s with {rows:,} rows as Parquet …", flush=True)
    sh([os.path.join(ROOT, "fixtures", "migrate-sql", "generate"), str(rows), data],
       env={**os.environ, "MIGRATE_SQL": migrate_sql}, stdout=subprocess.DEVNULL)
    parquet = os.path.join(data, "bars_1s", "*.parquet")
    config = os.path.join(work, "bench.yml")
    with open(config, "w") as f:
        f.write(f"views:\n  bars_1s: SELECT * FROM read_parquet('{parquet}')\ntables: [bars_1s]\n")
    sh(["psql", f"{PG} dbname=postgres", "-q", "-c", f"DROP DATABASE IF EXISTS {DB}"], stdout=subprocess.DEVNULL)
    sh(["psql", f"{PG} dbname=postgres", "-q", "-c", f"CREATE DATABASE {DB}"], stdout=subprocess.DEVNULL)
    pg_url = f"postgresql://postgres@127.0.0.1:5432/{DB}"
    runs = int(os.environ.get("BENCH_RUNS", "3"))
    rounds = []
    for n in range(runs):
        print(f"round {n + 1}/{runs} …", flush=True)
        rounds.append(one_round(work, rows, config, parquet, migrate_sql, duckdb, pg_ext, sqlite_ext, pg_url))
    results = []
    for label in rounds[0]:
        t = statistics.median(r[label][0] for r in rounds)
        rss = [r[label][1] for r in rounds if r[label][1] is not None]
        times = [r[label][0] for r in rounds]
        spread = f"{rows / max(times):,.0f}-{rows / min(times):,.0f} rows/s" if runs > 1 else ""
        results.append((label, t, max(rss) if rss else None, f"{spread}  {rounds[0][label][2]}".strip()))

    base = {label: t for label, t, _, _ in results}
    print(f"\n{rows:,} rows of bars_1s, median of {runs} rounds")
    print(f"{'contender':<58} {'seconds':>8} {'rows/s':>12} {'peak RSS':>10}")
    for label, t, rss, note in results:
        rss = f"{rss:>7.0f} MiB" if rss is not None else f"{'–':>11}"
        print(f"{label:<58} {t:>8.1f} {rows / t:>12,.0f} {rss}  {note}")
    print("\nratios (>1: migrate-sql is faster)")
    print(f"  PostgreSQL vs DuckDB postgres extension: {base[PG_EXT] / base[PG_OURS]:.2f}x")
    print(f"  PostgreSQL vs CSV pipe:                  {base[CSV_PIPE] / base[PG_OURS]:.2f}x")
    print(f"  PostgreSQL alone vs CSV pipe (ceiling):  {base[CSV_PIPE] / base[SERVER_ALONE]:.2f}x")
    print(f"  SQLite vs DuckDB sqlite extension:       {base[SQLITE_EXT] / base[SQLITE_OURS]:.2f}x")
    psql_drop = ["psql", f"{PG} dbname=postgres", "-q", "-c", f"DROP DATABASE IF EXISTS {DB}"]
    subprocess.run(psql_drop, stdout=subprocess.DEVNULL)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
