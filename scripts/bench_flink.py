"""Runs `weir bench`'s jobs on real Flink 1.20.3 (PyFlink, local MiniCluster, streaming mode).

Usage: <flink venv python> scripts/bench_flink.py JOBS.json
JOBS.json is a list of {"name": ..., "script": ...}: each script is the same Flink SQL text
Weir runs (SET, CREATE TABLE, one INSERT INTO). The JVM starts once, before any timing; each
job gets a fresh TableEnvironment. For each job one line goes to standard output:
  BENCH {"name": ..., "seconds": <Flink's net job runtime>, "wall": <submit to finished>}
Everything else goes to standard error.
"""
import json
import re
import sys
import time


def log(*args):
    print("bench_flink:", *args, file=sys.stderr, flush=True)


def statements(script):
    """Splits at top-level ';' (the generated scripts have none inside strings)."""
    text = "\n".join(l for l in script.splitlines() if not l.strip().startswith("--"))
    return [s.strip() for s in text.split(";") if s.strip()]


SET_RE = re.compile(r"^SET\s+'([^']+)'\s*=\s*'([^']*)'$", re.IGNORECASE | re.DOTALL)


def main():
    jobs = json.load(open(sys.argv[1]))
    t0 = time.time()
    from pyflink.table import EnvironmentSettings, TableEnvironment

    # Start the JVM (and warm up the planner) once, outside any timing.
    warm = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    warm.execute_sql("SELECT 1").collect().close()
    log(f"JVM and planner up in {time.time() - t0:.1f} s")

    for job in jobs:
        try:
            run_job(job)
        except Exception as e:  # noqa: BLE001 - one failing job must not hide the others
            log(f"{job['name']}: FAILED: {str(e).splitlines()[0] if str(e) else type(e).__name__}")
            print("BENCH " + json.dumps({"name": job["name"], "error": str(e)[:2000]}), flush=True)


def run_job(job):
    from pyflink.table import EnvironmentSettings, TableEnvironment

    env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    config = env.get_config()
    insert = None
    for stmt in statements(job["script"]):
        m = SET_RE.match(stmt)
        if m:
            config.set(m.group(1), m.group(2))
        elif stmt.upper().startswith("INSERT"):
            insert = stmt
        else:
            env.execute_sql(stmt)
    start = time.time()
    result = env.execute_sql(insert)
    client = result.get_job_client()
    net = None
    if client is not None:
        job_result = client.get_job_execution_result().result()
        try:
            net = job_result.get_net_runtime() / 1000.0
        except Exception as e:  # noqa: BLE001 - older PyFlink: fall back to wall time
            log("no net runtime:", e)
    else:
        result.wait()
    wall = time.time() - start
    log(f"{job['name']}: wall {wall:.2f} s, net runtime {net} s")
    seconds = net if net is not None else wall
    print("BENCH " + json.dumps({"name": job["name"], "seconds": seconds, "wall": wall}), flush=True)

if __name__ == "__main__":
    main()
