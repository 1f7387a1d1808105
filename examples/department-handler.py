#!/usr/bin/env python3
"""An example department handler for `worker --handler exec --exec "python3 examples/department-handler.py"`.

Reads one case as JSON on stdin and prints one JSON resolution on stdout:
  {"outcome": "resolved"|"escalate"|"reroute"|"reject", "summary": "...",
   "measures": [1, 9], "responsible_unit": "...", "reroute_to": "legal", "reply": "..."}
Anything printed to stderr is kept (its tail) in the case ledger when the handler fails.
Exit non-zero, print invalid JSON, or omit a required field, and the attempt fails and is retried.
"""
import json
import sys

case = json.load(sys.stdin)
text = case["text"].lower()
print(f"handling case {case['case_id']} (attempt {case['attempt']}) for {case['task_force']}", file=sys.stderr)

if any(word in text for word in ("起诉", "诉讼", "lawsuit", "court")) and case["task_force"] != "legal":
    resolution = {"outcome": "reroute", "reroute_to": "legal",
                  "summary": "mentions a lawsuit: the legal task force handles litigation"}
elif case.get("repeat_count", 0) >= 2 or "拖欠" in text or "arrears" in text:
    resolution = {"outcome": "escalate", "summary": "arrears or repeated demand: needs the task force",
                  "measures": [10]}
else:
    reply = {"en": "Your request was accepted; the responsible unit will contact you within the time limit.",
             "zh-Hant": "您的訴求已受理，責任單位將在時限內與您聯繫。"}.get(case["language"],
             "您的诉求已受理，责任单位将在时限内与您联系。")
    resolution = {"outcome": "resolved", "summary": "answered by the department's standard procedure",
                  "measures": [9], "responsible_unit": "district service centre", "reply": reply}

print(json.dumps(resolution, ensure_ascii=False))
