#!/usr/bin/env python3
"""migrate-sql beside DuckDB's own tools (not a test: nothing asserts a time).

Generates bars_1s with ROWS rows as Parquet (fixtures/migrate-sql/generate), then loads it:
  PostgreSQL: migrate-sql --mode migrate, DuckDB's postgres extension (ATTACH … TYPE postgres;
              CREATE TABLE pg.t AS SELECT …), and `duckdb` CSV to stdout piped into psql \\copy.
  SQLite:     migrate-sql --mode migrate, DuckDB's sqlite extension.
migrate-sql's migrate mode verifies at the end; its verify pass is also timed alone and
reported separately (load = migrate − verify). Prints rows/s, ratios and peak RSS.

Usage: bench/sql/bench.py BIN_DIR [ROWS] (DuckDB CLI and extensions come from PyPI into
.services/bench-venv; PostgreSQL at 127.0.0.1:5432 as user postgres).
"""
import os
import resource
import shutil
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


def server_alone(work, rows, results):
    """PostgreSQL's own ceiling here: the loaded table written to two binary files by the
    server, then read back by two server-side COPYs at once into one table (no client work)."""
    spool = os.path.join(work, "spool")
    os.makedirs(spool)
    os.chmod(work, 0o755)
    os.chmod(spool, 0o777)
    halves = [os.path.join(spool, f"half{i}.bin") for i in (0, 1)]
    half = rows // 2
    psql(f"COPY (SELECT * FROM bars_1s LIMIT {half}) TO '{halves[0]}' (FORMAT binary)")
    psql(f"COPY (SELECT * FROM bars_1s OFFSET {half}) TO '{halves[1]}' (FORMAT binary)")
    psql("CREATE TABLE bars_1s_server (LIKE bars_1s)")
    copies = " & ".join(
        f"psql '{PG} dbname={DB}' -q -c \"COPY bars_1s_server FROM '{h}' (FORMAT binary)\"" for h in halves)
    t, _ = timed(f"{copies} & wait", shell=True)
    results.append((SERVER_ALONE, t, None, "reference: the server's own limit, not a contender"))
    psql("DROP TABLE bars_1s_server")
    shutil.rmtree(spool, ignore_errors=True)


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
    results = []

    def ours(label, url):
        env = {**os.environ, "CRYPTO_DB_URL": url}
        logs = ["--log-dir", os.path.join(work, "logs")]
        total, rss = timed([migrate_sql, "--mode", "migrate", "--config", config, *logs], env=env)
        verify, vrss = timed([migrate_sql, "--mode", "verify", "--config", config, *logs], env=env)
        results.append((label, total - verify, max(rss, vrss), f"verify alone {verify:.1f}s ({rows / verify:,.0f} rows/s)"))

    def drop_pg():
        psql("DROP TABLE IF EXISTS bars_1s")

    drop_pg()
    ours("migrate-sql → PostgreSQL (load; binary COPY streams)", pg_url)
    server_alone(work, rows, results)
    drop_pg()
    sql = (f"LOAD '{pg_ext}'; ATTACH '{PG} dbname={DB}' AS pg (TYPE postgres); "
           f"CREATE TABLE pg.bars_1s AS SELECT * FROM read_parquet('{parquet}');")
    t, rss = timed([duckdb, "-unsigned", "-c", sql])
    results.append(("DuckDB postgres extension", t, rss, ""))
    drop_pg()
    psql("CREATE TABLE bars_1s (symbol text, ts bigint, open double precision, high double precision, "
         "low double precision, close double precision, volume double precision, trades integer)")
    pipe = (f"{duckdb} -c \"COPY (SELECT * FROM read_parquet('{parquet}')) TO '/dev/stdout' (FORMAT csv, HEADER false)\" "
            f"| psql '{PG} dbname={DB}' -q -c '\\copy bars_1s FROM STDIN CSV'")
    t, rss = timed(pipe, shell=True)
    results.append((CSV_PIPE, t, rss, ""))
    drop_pg()

    sqlite_ours = os.path.join(work, "ours.db")
    ours("migrate-sql → SQLite (load)", f"sqlite:///{sqlite_ours}")
    sqlite_duck = os.path.join(work, "duck.db")
    sql = (f"LOAD '{sqlite_ext}'; ATTACH '{sqlite_duck}' AS s (TYPE sqlite); "
           f"CREATE TABLE s.bars_1s AS SELECT * FROM read_parquet('{parquet}');")
    t, rss = timed([duckdb, "-unsigned", "-c", sql])
    results.append(("DuckDB sqlite extension", t, rss, ""))

    base = {label: t for label, t, _, _ in results}
    print(f"\n{rows:,} rows of bars_1s")
    print(f"{'contender':<54} {'seconds':>8} {'rows/s':>12} {'peak RSS':>10}")
    for label, t, rss, note in results:
        rss = f"{rss:>7.0f} MiB" if rss is not None else f"{'–':>11}"
        print(f"{label:<54} {t:>8.1f} {rows / t:>12,.0f} {rss}  {note}")
    pg_ours = base["migrate-sql → PostgreSQL (load; binary COPY streams)"]
    sq_ours = base["migrate-sql → SQLite (load)"]
    print("\nratios (>1: migrate-sql is faster)")
    print(f"  PostgreSQL vs DuckDB postgres extension: {base['DuckDB postgres extension'] / pg_ours:.2f}x")
    print(f"  PostgreSQL vs CSV pipe:                  {base[CSV_PIPE] / pg_ours:.2f}x")
    print(f"  PostgreSQL alone vs CSV pipe (ceiling):  {base[CSV_PIPE] / base[SERVER_ALONE]:.2f}x")
    print(f"  SQLite vs DuckDB sqlite extension:       {base['DuckDB sqlite extension'] / sq_ours:.2f}x")
    psql_drop = ["psql", f"{PG} dbname=postgres", "-q", "-c", f"DROP DATABASE IF EXISTS {DB}"]
    subprocess.run(psql_drop, stdout=subprocess.DEVNULL)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
