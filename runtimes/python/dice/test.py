"""Rolls dice: params {"roll": "4d6"} → a JSON list of 4 ints in 1..6.

Runs under both protocols: `exec` (python3 test.py, params on stdin / FERRY_PARAMS, result on
stdout) and `agent` (the agent calls main(params, ctx)).
"""
import json
import os
import random
import re
import sys


def main(params, ctx=None):
    spec = (params or {}).get("roll", "1d6")
    match = re.fullmatch(r"(\d{1,3})d(\d{1,4})", str(spec))
    if not match:
        raise ValueError("roll must look like 4d6, got %r" % spec)
    count, sides = int(match.group(1)), int(match.group(2))
    if count < 1 or sides < 2:
        raise ValueError("roll needs at least one die of at least two sides")
    if ctx is not None:
        ctx.progress(1.0)
    return [random.randint(1, sides) for _ in range(count)]


if __name__ == "__main__":
    raw = sys.stdin.read() or os.environ.get("FERRY_PARAMS", "null")
    print(json.dumps(main(json.loads(raw) if raw.strip() else None), separators=(",", ":")))
