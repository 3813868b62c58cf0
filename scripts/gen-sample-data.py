#!/usr/bin/env python3
"""Writes the sample input of MATIH's session-analytics job (sample-jobs/matih/).

MATIH's `matih.ai.state-changes` Kafka topic, as JSON-lines files in
sample-jobs/data/state-changes/part-NNN.json (files in time order by name). Deterministic: a
fixed seed, so the committed files are reproducible; run it again after changing it.

What is in there, on purpose:
- two hours of event time (2026-02-12 10:00 to 12:00, eight 15-minute windows), 3 tenants;
- session state machines (created -> active [-> awaiting_input -> active]* -> completed or
  abandoned), entity_type 'session_phase'; sessions often span several windows;
- 'agent' state changes, which the job filters out; some carry duration_ms too, so a job that
  forgets the filter gets different averages;
- metadata on completion events ({"duration_ms", "turn_count"}) written as a JSON-encoded
  string in some events and as a nested JSON object in others (Flink's json format reads an
  object into a STRING column as its JSON text); other events have metadata null, absent,
  or without those keys;
- abandoned sessions are triggered by the reaper with triggered_by null (COUNT DISTINCT skips
  NULL); a field the table does not declare (schema_version), which readers must ignore;
- a few events exactly on window boundaries (they belong to the window they start);
- order: increasing time with jitter under 10 s (the job's watermark delay is 30 s, so no row
  is late), and 3 malformed lines spread over the files ('json.ignore-parse-errors').

Python 3 standard library only.
"""

import json
import os
import random
import sys
import uuid
from datetime import datetime, timedelta

SEED = 20260212
START = datetime(2026, 2, 12, 10, 0, 0)
HOURS = 2
END_MS = HOURS * 3_600_000
FILES = 6
MAX_JITTER_MS = 8_000  # reorder window; must stay under 10 s (watermark delay: 30 s)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sample-jobs", "data", "state-changes")

# tenant -> (sessions per hour, users)
TENANTS = {
    "acme-health": (110, 40),
    "globex-retail": (70, 25),
    "initech-finance": (35, 12),
}
AGENTS = ["sql-agent", "viz-agent", "router-agent", "docs-agent"]
CHANNELS = ["web", "slack", "api"]


def timestamp(ms):
    """Flink's SQL timestamp format: 2026-02-12 10:30:00.000"""
    t = START + timedelta(milliseconds=ms)
    return t.strftime("%Y-%m-%d %H:%M:%S.") + f"{t.microsecond // 1000:03d}"


class Generator:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.events = []  # (time ms, tiebreak, dict)

    def uid(self, prefix):
        return f"{prefix}-{uuid.UUID(int=self.rng.getrandbits(128), version=4)}"

    def metadata(self, value):
        """A metadata value as MATIH producers write it: JSON text or a nested object."""
        if value is None:
            return None
        return json.dumps(value, separators=(",", ":")) if self.rng.random() < 0.5 else value

    def emit(self, ms, tenant, entity_type, entity_id, from_state, to_state, triggered_by, metadata,
             omit_metadata=False):
        if ms >= END_MS:
            return
        event = {
            "event_id": self.uid("evt"),
            "event_type": "session.state_changed" if entity_type == "session_phase" else "agent.state_changed",
            "tenant_id": tenant,
            "entity_type": entity_type,
            "entity_id": entity_id,
            "from_state": from_state,
            "to_state": to_state,
            "triggered_by": triggered_by,
        }
        if not omit_metadata:
            event["metadata"] = metadata
        event["schema_version"] = 1
        event["timestamp"] = timestamp(ms)
        self.events.append((ms, len(self.events), event))

    def session(self, tenant, users, created_ms):
        rng = self.rng
        sid = "sess-" + f"{rng.getrandbits(48):012x}"
        user = f"u-{tenant.split('-')[0]}-{rng.randrange(users):03d}"
        channel = rng.choice(CHANNELS)
        created_meta = self.metadata({"channel": channel}) if rng.random() < 0.7 else None
        self.emit(created_ms, tenant, "session_phase", sid, None, "created", user, created_meta)
        t = created_ms + rng.randint(300, 4_000)
        self.emit(t, tenant, "session_phase", sid, "created", "active", user, None,
                  omit_metadata=rng.random() < 0.5)
        turns = 1
        state = "active"
        for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
            t += rng.randint(20_000, 180_000)
            self.emit(t, tenant, "session_phase", sid, "active", "awaiting_input", user,
                      self.metadata({"turn": turns}))
            t += rng.randint(5_000, 120_000)
            self.emit(t, tenant, "session_phase", sid, "awaiting_input", "active", user, None)
            turns += 1
        turns += rng.randint(0, 6)  # turns that did not leave the active state
        t += rng.randint(30_000, 600_000)
        if rng.random() < 0.75:
            duration = t - created_ms
            meta = {"duration_ms": duration, "turn_count": turns}
            if rng.random() < 0.3:
                meta["model"] = rng.choice(["gpt-4o", "claude-sonnet", "llama-3-70b"])
            self.emit(t, tenant, "session_phase", sid, state, "completed", user, self.metadata(meta))
        else:
            reason = rng.choice(["idle_timeout", "user_left", "error"])
            self.emit(t, tenant, "session_phase", sid, state, "abandoned", None,
                      self.metadata({"reason": reason}))

    def agent_run(self, tenant, start_ms):
        rng = self.rng
        agent = f"{tenant.split('-')[0]}/{rng.choice(AGENTS)}"
        user = f"u-{tenant.split('-')[0]}-agent-runner"
        self.emit(start_ms, tenant, "agent", agent, "idle", "running", user, None)
        end = start_ms + rng.randint(2_000, 90_000)
        outcome = "completed" if rng.random() < 0.85 else "failed"
        meta = {"duration_ms": end - start_ms, "turn_count": rng.randint(1, 30)} if outcome == "completed" else {"error": "tool timeout"}
        self.emit(end, tenant, "agent", agent, "running", outcome, user, self.metadata(meta))


def main():
    gen = Generator(SEED)
    rng = gen.rng
    for tenant, (per_hour, users) in TENANTS.items():
        n = per_hour * HOURS
        for i in range(n):
            # Busier in the second hour; uniform within.
            created = rng.triangular(0, END_MS - 60_000, END_MS * 0.7)
            gen.session(tenant, users, int(created))
        for _ in range(per_hour * HOURS // 2):
            gen.agent_run(tenant, rng.randrange(0, END_MS - 120_000))
    # Sessions created exactly on window boundaries.
    for k, tenant in enumerate(TENANTS):
        for boundary in (15, 60, 105):
            gen.session(tenant, TENANTS[tenant][1], (boundary + 15 * k) % 120 * 60_000)

    # Increasing time with jitter: sort by time plus a random delay below MAX_JITTER_MS, so an
    # event is never preceded by one more than MAX_JITTER_MS younger than itself.
    events = sorted(gen.events, key=lambda e: (e[0] + rng.randrange(MAX_JITTER_MS), e[1]))
    lines = [json.dumps(e[2], separators=(",", ":")) for e in events]

    # Check the promise to the job: nothing arrives 10 s or more behind the newest so far.
    newest = 0
    for ms, _, _ in events:
        assert newest - ms < 10_000, (newest, ms)
        newest = max(newest, ms)

    os.makedirs(OUT, exist_ok=True)
    for name in os.listdir(OUT):
        if name.startswith("part-") and name.endswith(".json"):
            os.remove(os.path.join(OUT, name))
    malformed = [
        '{"event_id":"evt-truncated","event_type":"session.state_changed","tenant_id":"acme-hea',
        "this line is not JSON",
        '{"event_id":"evt-broken","tenant_id":"globex-retail","timestamp":}',
    ]
    per_file = -(-len(lines) // FILES)
    total = 0
    for f in range(FILES):
        chunk = lines[f * per_file:(f + 1) * per_file]
        if f in (1, 3, 4):
            chunk.insert(len(chunk) // 2, malformed.pop(0))
        path = os.path.join(OUT, f"part-{f:03d}.json")
        with open(path, "w", encoding="utf-8", newline="\n") as out:
            out.write("\n".join(chunk) + "\n")
        total += os.path.getsize(path)
    assert total < 2_000_000, f"sample data too large: {total} bytes"
    sessions = sum(1 for _, _, e in events if e["to_state"] == "created")
    print(f"{len(lines)} events ({sessions} sessions) + 3 malformed lines in {FILES} files, "
          f"{total // 1024} KiB, in {os.path.relpath(OUT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
