#!/usr/bin/env python3
"""Where PostgreSQL's COPY backends spend a migrate-sql load (a diagnostic, not a test).

Runs `migrate-sql --mode migrate` and, while its COPY … FROM STDIN statements are active,
samples their wait events in pg_stat_activity every 20 ms. "CPU" means the backend was running;
"Client:ClientRead" means it waited for migrate-sql to send rows; the rest are the server's own
waits (Lock:extend is the relation extension lock that concurrent COPYs into one table share
before PostgreSQL 16; LWLock:WALWrite and IO:WAL* are WAL writes). Run it on an idle machine.

Usage: bench/sql/wait_events.py MIGRATE_SQL CONFIG POSTGRES_URL [extra migrate-sql args…]
"""
import collections
import os
import subprocess
import sys
import tempfile
import time

QUERY = ("SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') FROM pg_stat_activity "
         "WHERE query LIKE 'COPY % FROM STDIN%' AND state = 'active' AND pid <> pg_backend_pid();"
         "SELECT 'end of sample';")


def main():
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    migrate_sql, config, url = sys.argv[1:4]
    logs = tempfile.mkdtemp(prefix="wait-events-")
    run = subprocess.Popen([migrate_sql, "--mode", "migrate", "--config", config, "--log-dir", logs, *sys.argv[4:]],
                           env={**os.environ, "CRYPTO_DB_URL": url},
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    psql = subprocess.Popen(["psql", "-qAt", url], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            bufsize=1)
    waits, polls, seen_copy = collections.Counter(), 0, False
    while run.poll() is None:
        psql.stdin.write(QUERY + "\n")
        psql.stdin.flush()
        sample = []
        while (line := psql.stdout.readline().strip()) != "end of sample":
            if not line and psql.poll() is not None:
                raise SystemExit("psql stopped: is PostgreSQL running at the URL given?")
            if line:
                sample.append(line)
        if sample:
            seen_copy = True
            polls += 1
            waits.update(sample)
        elif seen_copy:
            break  # the load is over (verification follows)
        time.sleep(0.02)
    run.wait()
    psql.stdin.close()
    psql.wait()
    if run.returncode != 0:
        raise SystemExit(f"migrate-sql failed with exit code {run.returncode}; its log is in {logs}")
    total = sum(waits.values())
    if not total:
        raise SystemExit("no COPY was seen: is the table empty, or the target not PostgreSQL?")
    print(f"{polls} samples of the COPY backends during the load ({total} backend observations)")
    for event, n in waits.most_common():
        print(f"  {event:<28} {100 * n / total:5.1f} %")


if __name__ == "__main__":
    main()
