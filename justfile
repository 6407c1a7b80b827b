# Conveniences over scripts/ (the scripts are the source of truth; CI calls scripts/test).
# `just` itself is installed by `scripts/services up` into .services/venv/bin.

# List the recipes.
default:
    @just --list

# The whole check: install what is missing, start services, fmt, clippy, tests, doc tests.
test:
    scripts/test

# Start, stop or show the test services: just services up|down|status
services action="up":
    scripts/services {{action}}

# Print what the local ClickHouse supports (the source of docs/clickhouse-compat.md).
clickhouse-probe:
    scripts/clickhouse-probe

# Run the benchmarks in bench/ (release build; prints ratios against the baselines).
bench:
    bench/run

# Only the ClickHouse sink benchmark (no DuckDB build).
bench-clickhouse rows="2000000":
    bench/clickhouse/run {{rows}}

# Only the ch-migrate benchmark (no DuckDB build): 500 migrations, then no-op runs with 1,000 applied.
bench-ch-migrate migrations="500" applied="1000":
    bench/ch-migrate/run {{migrations}} {{applied}}
