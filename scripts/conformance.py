#!/usr/bin/env python3
"""Differential conformance suite: runs each conformance/cases/<case>/job.sql in real Apache
Flink 1.20.3 (PyFlink, in-process MiniCluster) and in Weir from the same text, writes Flink's
rows to the case's golden file flink.jsonl, and prints a PASS/FAIL table.

Run it with the Python of the venv that scripts/flink.sh makes (scripts/conformance.sh does
all of it). Standard library and pyflink only.

    conformance.py [--no-flink] [--weir PATH] [--keep] [CASE ...]

--no-flink compares Weir against the checked-in golden files without starting Java. CASE is a
case directory name (or a prefix of one, such as 007); without any, every case runs.
"""

import argparse
import datetime
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = os.path.join(ROOT, "conformance", "cases")
GOLDEN = "flink.jsonl"
KNOWN = "known-difference.md"
REL_TOL = 1e-9


# ---------------------------------------------------------------------------------------------
# The script: statements, SET lines, ${VAR} substitution, the sink's timestamp columns.


def substitute(text, variables):
    """Replaces ${NAME} with variables[NAME] (what both runners do)."""
    return re.sub(r"\$\{(\w+)\}", lambda m: variables.get(m.group(1), m.group(0)), text)


def split_statements(text):
    """Splits a script at top-level semicolons, skipping '--' comments and quoted text."""
    statements, current, i, n = [], [], 0, len(text)
    while i < n:
        c = text[i]
        if c == "-" and text.startswith("--", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if c in "'`\"":
            j = i + 1
            while j < n:
                if text[j] == c:
                    if j + 1 < n and text[j + 1] == c:  # doubled quote: an escaped one
                        j += 2
                        continue
                    break
                j += 1
            current.append(text[i : j + 1])
            i = j + 1
            continue
        if c == ";":
            statements.append("".join(current).strip())
            current = []
        else:
            current.append(c)
        i += 1
    statements.append("".join(current).strip())
    return [s for s in statements if s]


SET_RE = re.compile(r"^SET\s+'([^']*)'\s*=\s*'([^']*)'$", re.IGNORECASE | re.DOTALL)


def top_level_split(body):
    """Splits a column list at commas outside parentheses."""
    parts, depth, current = [], 0, []
    for c in body:
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        if c == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(c)
    parts.append("".join(current).strip())
    return [p for p in parts if p]


def create_table_columns(statement):
    """(table name, [(column, type)]) of a CREATE TABLE statement, or None."""
    m = re.match(
        r"CREATE\s+(?:TEMPORARY\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([\w.`]+)\s*\(",
        statement,
        re.IGNORECASE,
    )
    if not m:
        return None
    depth, start = 0, m.end() - 1
    for j in range(start, len(statement)):
        if statement[j] == "(":
            depth += 1
        elif statement[j] == ")":
            depth -= 1
            if depth == 0:
                break
    columns = []
    for part in top_level_split(statement[start + 1 : j]):
        words = part.split(None, 1)
        if words[0].upper() in ("WATERMARK", "PRIMARY", "CONSTRAINT") or len(words) < 2:
            continue
        columns.append((words[0].strip("`"), words[1].strip()))
    return m.group(1).strip("`").split(".")[-1], columns


def sink_timestamp_columns(script):
    """Names of the TIMESTAMP columns of the table the script's INSERT INTO writes."""
    statements = split_statements(script)
    tables = {}
    target = None
    for s in statements:
        parsed = create_table_columns(s)
        if parsed:
            tables[parsed[0].lower()] = parsed[1]
        m = re.match(r"INSERT\s+INTO\s+([\w.`]+)", s, re.IGNORECASE)
        if m:
            target = m.group(1).replace("`", "").split(".")[-1].lower()
    return {
        name
        for name, ty in tables.get(target, [])
        if ty.upper().startswith("TIMESTAMP")
    }


# ---------------------------------------------------------------------------------------------
# Comparison: rows as multisets; numbers as f64 with a relative tolerance; timestamps as
# instants; strings exact; null = null. The Rust test (engine/core/tests/conformance.rs)
# compares the same way.

TS_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z)?$"
)


def parse_timestamp(text):
    """Epoch nanoseconds of 'YYYY-MM-DD HH:MM[:SS[.fff]]' (or with T and Z), or None."""
    m = TS_RE.match(text)
    if not m:
        return None
    y, mo, d, h, mi = (int(m.group(k)) for k in range(1, 6))
    s = int(m.group(6) or 0)
    frac = (m.group(7) or "").ljust(9, "0")
    days = (datetime.date(y, mo, d) - datetime.date(1970, 1, 1)).days
    return ((days * 86400 + h * 3600 + mi * 60 + s) * 1_000_000_000) + int(frac)


def canon_value(value, is_timestamp):
    if value is None:
        return ("null",)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("num", float(value))
    if isinstance(value, str):
        if is_timestamp:
            ns = parse_timestamp(value)
            if ns is not None:
                return ("ts", ns)
        return ("str", value)
    if isinstance(value, list):
        return ("list", tuple(canon_value(v, False) for v in value))
    return ("json", json.dumps(value, sort_keys=True))


def canon_row(row, ts_columns):
    return tuple(sorted((k, canon_value(v, k in ts_columns)) for k, v in row.items()))


def values_equal(a, b):
    if a[0] != b[0]:
        return False
    if a[0] == "num":
        x, y = a[1], b[1]
        if x == y or (math.isnan(x) and math.isnan(y)):
            return True
        return abs(x - y) <= REL_TOL * max(abs(x), abs(y))
    if a[0] == "list":
        return len(a[1]) == len(b[1]) and all(values_equal(p, q) for p, q in zip(a[1], b[1]))
    return a == b


def rows_equal(a, b):
    return len(a) == len(b) and all(
        ka == kb and values_equal(va, vb) for (ka, va), (kb, vb) in zip(a, b)
    )


def compare(expected, actual, ts_columns):
    """(rows of `expected` Weir lacks, rows of `actual` Flink lacks), as multisets."""
    exp = [canon_row(r, ts_columns) for r in expected]
    act = [canon_row(r, ts_columns) for r in actual]
    used = [False] * len(act)
    missing = []
    for i, e in enumerate(exp):
        for j, a in enumerate(act):
            if not used[j] and rows_equal(e, a):
                used[j] = True
                break
        else:
            missing.append(expected[i])
    extra = [actual[j] for j in range(len(act)) if not used[j]]
    return missing, extra


def sort_key(row, ts_columns):
    """Orders golden rows by their values in the sink's column order."""
    return tuple(canon_value(v, k in ts_columns) for k, v in row.items())


# ---------------------------------------------------------------------------------------------
# Output files.


def read_jsonl(path, rows, lines):
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.strip():
                rows.append(json.loads(line))
                lines.append(line)


def read_output(directory):
    """(rows, lines) of the committed files under `directory`; hidden files (Flink's
    in-progress `.part-*`, Weir's `.part-*.inprogress`) are skipped."""
    rows, lines = [], []
    if not os.path.isdir(directory):
        return rows, lines
    for dirpath, dirnames, filenames in os.walk(directory):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "_")))
        for name in sorted(filenames):
            if not name.startswith((".", "_")):
                read_jsonl(os.path.join(dirpath, name), rows, lines)
    return rows, lines


def read_golden(case_dir):
    path = os.path.join(case_dir, GOLDEN)
    if not os.path.exists(path):
        return None
    rows, lines = [], []
    read_jsonl(path, rows, lines)
    return rows


JAVA_ERROR_RE = re.compile(r"^(?:Caused by: )?[\w.$]+(?:Exception|Error): .+")


def java_error(error):
    """The first Java exception line of a PyFlink error (its own first line is only
    'An error occurred while calling ...')."""
    text = str(error).strip()
    for line in text.splitlines():
        line = line.strip().lstrip(": ")
        if JAVA_ERROR_RE.match(line):
            return line
    return text.splitlines()[0] if text else type(error).__name__


# ---------------------------------------------------------------------------------------------
# Runners.


class Flink:
    """One PyFlink gateway (JVM) for the whole run; a fresh TableEnvironment per case, so
    catalogs and configuration never leak from one case to the next."""

    def __init__(self):
        from pyflink.table import EnvironmentSettings, TableEnvironment

        self._settings = EnvironmentSettings.in_streaming_mode()
        self._create = TableEnvironment.create

    def run(self, script, output_dir, timeout_s=180):
        env = self._create(self._settings)
        jobs = 0
        for statement in split_statements(script):
            m = SET_RE.match(statement)
            if m:
                env.get_config().set(m.group(1), m.group(2))
                continue
            result = env.execute_sql(statement)
            if result.get_job_client() is not None:
                result.wait(timeout_s * 1000)
                jobs += 1
        if jobs != 1:
            raise RuntimeError(f"expected one INSERT INTO job, ran {jobs}")
        return read_output(output_dir)


def weir_binary(explicit):
    if explicit:
        return explicit
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.expanduser("~/.cache/weir/target")
    return os.path.join(target, "debug", "weir")


def run_weir(binary, job, input_dir, output_dir):
    proc = subprocess.run(
        [binary, "run", job, "-D", f"INPUT={input_dir}", "-D", f"OUTPUT={output_dir}"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0:
        raise RuntimeError((proc.stderr or proc.stdout).strip())
    rows, _ = read_output(output_dir)
    return rows


# ---------------------------------------------------------------------------------------------


def select_cases(names):
    all_cases = sorted(
        d for d in os.listdir(CASES) if os.path.isfile(os.path.join(CASES, d, "job.sql"))
    )
    if not names:
        return all_cases
    chosen = []
    for name in names:
        name = os.path.basename(name.rstrip("/"))
        hits = [c for c in all_cases if c == name or c.startswith(name)]
        if not hits:
            sys.exit(f"conformance.py: no case matches {name!r}")
        chosen.extend(h for h in hits if h not in chosen)
    return chosen


def short(rows, limit=4):
    text = "; ".join(json.dumps(r, sort_keys=True) for r in rows[:limit])
    if len(rows) > limit:
        text += f"; ... ({len(rows)} rows)"
    return text


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cases", nargs="*", help="case directories (or prefixes) to run")
    parser.add_argument("--no-flink", action="store_true", help="use the golden files as they are")
    parser.add_argument("--weir", help="the weir binary (default: $CARGO_TARGET_DIR/debug/weir)")
    parser.add_argument("--keep", action="store_true", help="keep the output folders")
    args = parser.parse_args()

    cases = select_cases(args.cases)
    binary = weir_binary(args.weir)
    if not os.access(binary, os.X_OK):
        sys.exit(f"conformance.py: no weir binary at {binary} (cargo build -p weir)")
    work = tempfile.mkdtemp(prefix="weir-conformance-")
    started = time.time()
    flink = None
    if not args.no_flink:
        t0 = time.time()
        flink = Flink()
        print(f"PyFlink gateway up in {time.time() - t0:.1f} s", file=sys.stderr)

    results = []
    for case in cases:
        case_dir = os.path.join(CASES, case)
        job = os.path.join(case_dir, "job.sql")
        with open(job, encoding="utf-8") as f:
            raw = f.read()
        input_dir = os.path.join(case_dir, "input")
        ts_columns = sink_timestamp_columns(raw)
        known = os.path.exists(os.path.join(case_dir, KNOWN))
        note, flink_s, weir_s = "", None, None

        expected = None
        if flink is not None:
            out = os.path.join(work, case, "flink")
            t0 = time.time()
            try:
                rows, lines = flink.run(substitute(raw, {"INPUT": input_dir, "OUTPUT": out}), out)
                order = sorted(range(len(rows)), key=lambda i: sort_key(rows[i], ts_columns))
                with open(os.path.join(case_dir, GOLDEN), "w", encoding="utf-8") as f:
                    f.writelines(lines[i] + "\n" for i in order)
                expected = rows
            except Exception as e:  # noqa: BLE001 - reported per case
                note = "Flink failed: " + java_error(e)[:300]
            flink_s = time.time() - t0
        else:
            expected = read_golden(case_dir)
            if expected is None:
                note = f"no {GOLDEN} (run without --no-flink)"

        actual = None
        out = os.path.join(work, case, "weir")
        t0 = time.time()
        try:
            actual = run_weir(binary, job, input_dir, out)
        except Exception as e:  # noqa: BLE001 - reported per case
            note = note or "Weir failed: " + " | ".join(str(e).splitlines())[:300]
        weir_s = time.time() - t0

        if expected is not None and actual is not None:
            missing, extra = compare(expected, actual, ts_columns)
            same = not missing and not extra
            if not same:
                note = ""
                if missing:
                    note += f"Flink only: {short(missing)}"
                if extra:
                    note += (" | " if note else "") + f"Weir only: {short(extra)}"
        else:
            same = False
        if same:
            status = "FIXED?" if known else "PASS"
            if known:
                note = f"matches Flink now: remove {KNOWN}"
        else:
            status = "KNOWN" if known and expected is not None else "FAIL"
        results.append((case, status, expected, actual, flink_s, weir_s, note))
        print(f"{status:6} {case}", file=sys.stderr, flush=True)

    width = max(len(c) for c in cases)
    print()
    print(f"{'case':{width}}  {'result':6}  flink  weir  flink s  weir s  note")
    for case, status, expected, actual, flink_s, weir_s, note in results:
        fr = "-" if expected is None else str(len(expected))
        wr = "-" if actual is None else str(len(actual))
        fs = "-" if flink_s is None else f"{flink_s:.1f}"
        ws = "-" if weir_s is None else f"{weir_s:.2f}"
        print(f"{case:{width}}  {status:6}  {fr:>5}  {wr:>4}  {fs:>7}  {ws:>6}  {note}")
    counts = {s: sum(1 for r in results if r[1] == s) for s in ("PASS", "KNOWN", "FAIL", "FIXED?")}
    print()
    print(
        f"{len(results)} case(s): {counts['PASS']} pass, {counts['KNOWN']} known difference(s), "
        f"{counts['FAIL']} fail, {counts['FIXED?']} known difference(s) that now pass; "
        f"{time.time() - started:.0f} s"
    )
    if args.keep:
        print(f"outputs kept in {work}", file=sys.stderr)
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if counts["FAIL"] or counts["FIXED?"] else 0


if __name__ == "__main__":
    sys.exit(main())
