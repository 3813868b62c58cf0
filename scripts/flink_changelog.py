#!/usr/bin/env python3
"""Prints the changelog real Flink 1.20.3 emits for each SELECT of a Flink SQL script, row
kind first (`+I ['a', 'x', 1, 1]`), and the rank strategy Flink's planner picked for Top-N
queries. The conformance suite compares only append-only results (its sink is the
filesystem); this is how the updating results in engine/core/tests/slt/18_top_n_updating.slt
were taken from Flink. Run it with the venv's python from scripts/flink.sh:

    "$(bash scripts/flink.sh)" scripts/flink_changelog.py script.sql

The script's statements are separated by `;` (not inside comments or quotes); `SET 'k' = 'v'`
lines set the table config; parallelism is 1 and the time zone UTC.
"""

import sys

from pyflink.table import EnvironmentSettings, TableEnvironment


def statements(text):
    for raw in text.split(";"):
        body = "\n".join(l for l in raw.splitlines() if not l.strip().startswith("--")).strip()
        if body:
            yield body


def main(path):
    env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    config = env.get_config()
    config.set("parallelism.default", "1")
    config.set("table.local-time-zone", "UTC")
    for s in statements(open(path).read()):
        if s.upper().startswith("SET "):
            key, value = [x.strip().strip("'") for x in s[4:].split("=", 1)]
            config.set(key, value)
            continue
        if not s.upper().startswith("SELECT"):
            env.execute_sql(s)
            continue
        print("==", " ".join(s.split()))
        try:
            plan = env.explain_sql(s).split("== Optimized Execution Plan ==")[1]
            for line in plan.splitlines():
                if "Rank(" in line or "Deduplicate(" in line:
                    print("plan:", line.strip())
            with env.execute_sql(s).collect() as rows:
                for r in rows:
                    print(str(r.get_row_kind()), list(r))
        except Exception as e:  # the planner's error, first line
            print("error:", str(e).splitlines()[0])


if __name__ == "__main__":
    main(sys.argv[1])
