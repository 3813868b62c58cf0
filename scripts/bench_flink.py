"""Runs `weir bench`'s jobs on real Flink 1.20.3 (PyFlink, local MiniCluster, streaming mode).

Usage: <flink venv python> scripts/bench_flink.py JOBS.json
JOBS.json is a list of {"name": ..., "script": ...}: each script is the same Flink SQL text
Weir runs (SET, CREATE TABLE, one INSERT INTO). The JVM starts once, before any timing; each
job gets a fresh TableEnvironment. For each job one line goes to standard output:
  BENCH {"name": ..., "seconds": <Flink's net job runtime>, "wall": <submit to finished>,
         "cpu": <CPU seconds (user + system, every thread) of the JVM from the job's submission to its result>}
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


def jvm_pid():
    """The process id of PyFlink's JVM (where the MiniCluster runs)."""
    from pyflink.java_gateway import get_gateway

    return int(get_gateway().jvm.java.lang.ProcessHandle.current().pid())


def cpu_seconds(pid):
    """User + system CPU time of process `pid`, all threads (Linux: /proc, 1/100 s ticks)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / 100.0
    except (OSError, IndexError, ValueError):
        return None


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
    pid = jvm_pid()
    start = time.time()
    result = env.execute_sql(insert)
    # From here: the job is planned, compiled and submitted (not counted, as Flink's net
    # runtime does not count it); the CPU the JVM spends until the result is the job's.
    cpu0 = cpu_seconds(pid)
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
    cpu1 = cpu_seconds(pid)
    cpu = cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else None
    log(f"{job['name']}: wall {wall:.2f} s, net runtime {net} s, JVM CPU {cpu} s")
    seconds = net if net is not None else wall
    print(
        "BENCH " + json.dumps({"name": job["name"], "seconds": seconds, "wall": wall, "cpu": cpu}),
        flush=True,
    )

if __name__ == "__main__":
    main()
