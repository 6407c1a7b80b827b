#!/usr/bin/env python3
"""ch-migrate beside the raw statement loop and clickhouse-migrations (not a test: nothing
asserts a time).

MIGRATIONS generated migrations (CREATE TABLE and ALTER TABLE … ADD COLUMN, every tenth with
two statements) are applied to an empty database on ClickHouse 18.16 by:
  ch-migrate             `ch-migrate migrate` (history, statement journal, lock)
  curl loop              the same statements, one `curl` per statement in a shell loop: the
                         server's own limit, with no bookkeeping at all
  clickhouse-migrations  PyPI's most used Python tool (native protocol, its own lock)
Then, with APPLIED migrations applied, a no-op `ch-migrate migrate` and `ch-migrate status`.
Each contender runs BENCH_RUNS times (default 3) on a fresh database; medians are shown with
peak RSS (wait4) and the ratios the issue aims at.

Usage: bench/ch-migrate/bench.py CH_MIGRATE_BIN [MIGRATIONS] [APPLIED]
(clickhouse-migrations comes from PyPI into .services/bench-venv; ClickHouse 18.16 from
scripts/services: HTTP MIGRATE_CH_HTTP_PORT, native MIGRATE_CH_TCP_PORT.)
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHM_VERSION = "0.16.0"
HTTP_PORT = int(os.environ.get("MIGRATE_CH_HTTP_PORT", "18123"))
TCP_PORT = int(os.environ.get("MIGRATE_CH_TCP_PORT", "19000"))
URL = f"http://127.0.0.1:{HTTP_PORT}/"
RUNS = int(os.environ.get("BENCH_RUNS", "3"))


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def sql(statement, database=None):
    url = URL + (f"?database={database}" if database else "")
    with urllib.request.urlopen(urllib.request.Request(url, data=statement.encode())) as r:
        return r.read().decode()


def clickhouse_migrations():
    venv = os.path.join(ROOT, ".services", "bench-venv")
    py = os.path.join(venv, "bin", "python")
    if not os.path.exists(py):
        sh([sys.executable, "-m", "venv", venv])
    sh([py, "-m", "pip", "install", "-q", "--disable-pip-version-check", f"clickhouse-migrations=={CHM_VERSION}"])
    return os.path.join(venv, "bin", "clickhouse-migrations")


def migrations(n):
    """(version, [statements]) of n migrations: a new table every third, columns added to the
    latest table otherwise, two columns at once every tenth."""
    out, table = [], None
    for i in range(1, n + 1):
        if table is None or i % 3 == 1:
            table = f"t{i}"
            out.append((i, [f"CREATE TABLE {table} (id UInt64, at DateTime) ENGINE = MergeTree ORDER BY id"],
                        [f"DROP TABLE {table}"]))
        elif i % 10 == 0:
            out.append((i, [f"ALTER TABLE {table} ADD COLUMN a{i} String",
                            f"ALTER TABLE {table} ADD COLUMN b{i} UInt32 DEFAULT 0"],
                        [f"ALTER TABLE {table} DROP COLUMN b{i}", f"ALTER TABLE {table} DROP COLUMN a{i}"]))
        else:
            out.append((i, [f"ALTER TABLE {table} ADD COLUMN c{i} String"], [f"ALTER TABLE {table} DROP COLUMN c{i}"]))
    return out


def ch_migrate_project(work, database, generated):
    os.makedirs(os.path.join(work, "configs"), exist_ok=True)
    os.makedirs(os.path.join(work, "migrations"), exist_ok=True)
    with open(os.path.join(work, "configs", "migration-config.yml"), "w") as f:
        f.write(f"database:\n  host: 127.0.0.1\n  http_port: {HTTP_PORT}\n  database: {database}\n  user: default\n"
                f"migration:\n  table_name: schema_migrations\nlogging:\n  level: INFO\n")
    for version, forward, rollback in generated:
        with open(os.path.join(work, "migrations", f"V{version}__m{version}.sql"), "w") as f:
            f.write(f"-- Version: {version}\n")
            f.write("".join(f"{s};\n" for s in forward))
            f.write("".join(f"-- ROLLBACK: {s};\n" for s in rollback))


def chm_project(work, generated):
    os.makedirs(work, exist_ok=True)
    for version, forward, _ in generated:
        with open(os.path.join(work, f"{version:04d}_m{version}.sql"), "w") as f:
            f.write("".join(f"{s};\n" for s in forward))


def curl_script(path, database, generated):
    with open(path, "w") as f:
        f.write("set -e\n")
        for _, forward, _ in generated:
            for s in forward:
                f.write(f"curl -sS --fail '{URL}?database={database}' --data-binary '{s}' >/dev/null\n")


def timed(cmd, cwd=None):
    """Wall seconds and peak RSS (MiB) of one command (a shell loop counts its largest process)."""
    # The files the previous contender (and its dropped database) wrote are written back
    # before this one starts, not during it.
    os.sync()
    time.sleep(1)
    with tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.monotonic() - start
        if status != 0:
            err.seek(0)
            raise SystemExit(f"failed ({status}): {' '.join(cmd)}\n{err.read().decode(errors='replace')[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024


def fresh(database):
    sql(f"DROP DATABASE IF EXISTS {database}")
    sql(f"CREATE DATABASE {database}")


def columns(database):
    return int(sql(f"SELECT count() FROM system.columns WHERE database = '{database}' "
                   f"AND table NOT IN ('schema_migrations', 'schema_migrations_journal', 'schema_migrations_lock', "
                   f"'schema_versions', 'schema_versions_lock', 'schema_versions_migration_lock')").strip())


def median(runs):
    return statistics.median(r[0] for r in runs), max(r[1] for r in runs)


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    binary = os.path.abspath(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    applied = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    chm = clickhouse_migrations()
    version = sql("SELECT version()").strip()
    generated = migrations(n)
    statements = sum(len(f) for _, f, _ in generated)
    work = tempfile.mkdtemp(prefix="bench-ch-migrate-")
    database = "bench_ch_migrate"
    results = {}
    expected = None
    try:
        contenders = {
            "ch-migrate": lambda d: (ch_migrate_project(os.path.join(work, d), d, generated),
                                     [binary, "migrate", "-q"], os.path.join(work, d)),
            "curl loop": lambda d: (curl_script(os.path.join(work, d + ".sh"), d, generated),
                                    ["bash", os.path.join(work, d + ".sh")], None),
            "clickhouse-migrations": lambda d: (chm_project(os.path.join(work, d), generated),
                                                [chm, "migrate", "--db-host", "127.0.0.1", "--db-port", str(TCP_PORT),
                                                 "--db-name", d, "--migrations-dir", os.path.join(work, d),
                                                 "--multi-statement", "--log-level", "WARNING"], None),
        }
        for run in range(RUNS):
            for name, prepare in contenders.items():
                d = f"{database}_{run}_{name.split()[0].replace('-', '_')}"
                fresh(d)
                _, cmd, cwd = prepare(d)
                results.setdefault(name, []).append(timed(cmd, cwd))
                if name == "ch-migrate":
                    recorded = int(sql(f"SELECT uniqExact(version) FROM {d}.schema_migrations WHERE status = 'applied'"))
                    if recorded != n:
                        raise SystemExit(f"ch-migrate recorded {recorded} of {n} migrations as applied")
                got = columns(d)
                expected = expected or got
                if got != expected:
                    raise SystemExit(f"{name} left {got} columns, the others {expected}")
                sql(f"DROP DATABASE {d}")
        # No-op migrate and status with `applied` migrations applied.
        big = migrations(applied)
        d = f"{database}_noop"
        fresh(d)
        project = os.path.join(work, "noop")
        ch_migrate_project(project, d, big)
        apply_all = timed([binary, "migrate", "-q"], project)
        noop = [timed([binary, "migrate", "-q"], project) for _ in range(5)]
        status = [timed([binary, "status", "-q"], project) for _ in range(5)]
        sql(f"DROP DATABASE {d}")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"\n{n} migrations ({statements} statements) into an empty database on ClickHouse {version}, "
          f"median of {RUNS}; every contender left the same {expected} columns\n")
    print("| contender | median time | statements/s | peak RSS |")
    print("|---|---:|---:|---:|")
    medians = {name: median(runs) for name, runs in results.items()}
    for name, (t, rss) in medians.items():
        print(f"| {name} | {t:.2f} s | {statements / t:,.0f} | {rss:.0f} MiB |")
    print("\nevery run: " + "; ".join(f"{name} " + ", ".join(f"{t:.2f}" for t, _ in runs) for name, runs in results.items()))
    ours, loop, chm_t = medians["ch-migrate"][0], medians["curl loop"][0], medians["clickhouse-migrations"][0]
    print(f"\nch-migrate / curl loop: {ours / loop:.2f}x the raw loop's time (aim: within 1.3x)")
    print(f"clickhouse-migrations / ch-migrate: {chm_t / ours:.2f}x faster (aim: at least 3x)")
    noop_t, noop_rss = median(noop)
    status_t, status_rss = median(status)
    print(f"\nWith {applied} applied (applying them took {apply_all[0]:.1f} s):")
    print(f"| command | median time | peak RSS |\n|---|---:|---:|")
    print(f"| ch-migrate migrate (nothing pending) | {noop_t:.3f} s | {noop_rss:.0f} MiB |")
    print(f"| ch-migrate status | {status_t:.3f} s | {status_rss:.0f} MiB |")
    print("(aims: status under 0.3 s, RSS under 50 MiB)")


if __name__ == "__main__":
    main()
