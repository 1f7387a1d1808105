"""Reads a handler side-effect log (scripts/chaos, scripts/netns-test) and prints
"EXECUTIONS EFFECTS LATE RERAN STOPPED":

  lines "begin JOB ATTEMPT MS [...]" (an execution began) and
        "effect JOB ATTEMPT MS [...]" (its side effect was written);
  LATE     side effects written after a later attempt of the same job began: the
           earlier handler outlived its lease (must be 0);
  RERAN    jobs with side effects of two or more attempts (at-least-once after a crash);
  STOPPED  executions that never reached their side effect (killed, fenced, failed).
"""
import collections
import sys

begins = collections.defaultdict(dict)
effects = collections.defaultdict(dict)
executions = 0
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) < 4 or parts[0] not in ("begin", "effect"):
        continue
    kind, job, attempt, at = parts[0], int(parts[1]), int(parts[2]), int(parts[3])
    if kind == "begin":
        executions += 1
        begins[job][attempt] = at
    else:
        effects[job][attempt] = at
late = sum(1 for job, by_attempt in effects.items() for attempt, at in by_attempt.items()
           if any(later > attempt and begun < at for later, begun in begins[job].items()))
reran = sum(1 for by_attempt in effects.values() if len(by_attempt) > 1)
stopped = sum(1 for job, by_attempt in begins.items() for attempt in by_attempt if attempt not in effects[job])
print(executions, sum(len(v) for v in effects.values()), late, reran, stopped)
