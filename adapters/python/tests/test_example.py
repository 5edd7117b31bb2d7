"""The kit's example, the MaxCompute adapter: as a process, and under arrears."""

import json
import os
import select
import subprocess
import sys
from pathlib import Path

import pytest

KIT = Path(__file__).resolve().parent.parent
EXAMPLE = KIT / "arrears_maxcompute.py"
REPO = KIT.parent.parent

REQUESTS = [
    {"id": 1, "type": "hello", "protocol": "arrears-adapter/1", "products": []},
    {"id": 2, "type": "load", "history": {
        "start": "2026-01-01T00:00:00Z", "accounts": [{"id": "a-1", "cash": 0}],
        "resources": [{"id": "m-1", "account": "a-1", "product": "maxcompute",
                       "kind": "instance", "billing": "pay-as-you-go"}]}},
    {"id": 3, "type": "apply", "at": "2026-01-02T00:00:00Z",
     "event": {"charge": {"at": "+1d", "resource": "m-1", "amount": 600}}},
    {"id": 4, "type": "advance", "to": "2026-01-20T00:00:00Z"},
    {"id": 5, "type": "observe"},
    {"id": 6, "type": "bye"},
]


def read_line(process, timeout=10.0):
    """One line of the adapter's output, or a failure if it does not come (not flushed)."""
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    assert ready, "the adapter did not answer within 10 s: is every reply flushed?"
    return process.stdout.readline()


def test_the_example_answers_each_request_before_the_next_is_sent():
    process = subprocess.Popen([sys.executable, str(EXAMPLE)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        replies = []
        for request in REQUESTS:
            process.stdin.write(json.dumps(request) + "\n")
            process.stdin.flush()
            replies.append(json.loads(read_line(process)))
        assert process.wait(timeout=10) == 0, process.stderr.read()
    finally:
        process.kill()
        for stream in (process.stdin, process.stdout, process.stderr):
            stream.close()
    assert [r["id"] for r in replies] == [1, 2, 3, 4, 5, 6]
    assert replies[0]["implements"] == [
        {"product": "maxcompute", "billing": ["subscription", "pay-as-you-go"]}]
    observation, events = replies[4]["observation"], replies[4]["events"]
    (instance,) = observation["resources"]
    # Unpaid at T (day 1), locked 15 days later, still locked on day 19.
    assert (instance["state"], instance["since"]) == ("locked", "2026-01-17T00:00:00Z")
    assert instance["operations"] == {"release": True, "renew": True, "run-task": False}
    assert [e["event"] for e in events] == [
        "charge", "deduction", "notification", "transition", "transition"]
    assert [e.get("to") for e in events if e["event"] == "transition"] == ["overdue", "locked"]


def test_the_example_has_a_command_line():
    run = subprocess.run([sys.executable, str(EXAMPLE), "--version"], capture_output=True,
                         text=True, timeout=30)
    assert run.returncode == 0 and "arrears-adapter/1" in run.stdout
    run = subprocess.run([sys.executable, str(EXAMPLE), "--help"], capture_output=True,
                         text=True, timeout=30)
    assert run.returncode == 0 and "--trace" in run.stdout
    run = subprocess.run([sys.executable, str(EXAMPLE), "--bogus"], capture_output=True,
                         text=True, timeout=30)
    assert run.returncode == 2 and "--bogus" in run.stderr


def test_trace_copies_the_conversation_to_standard_error():
    lines = "".join(json.dumps(r) + "\n" for r in REQUESTS[:1] + REQUESTS[-1:])
    run = subprocess.run([sys.executable, str(EXAMPLE), "--trace"], input=lines,
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 0
    assert run.stderr.count("\n> ") + run.stderr.startswith("> ") == 2
    assert '< {"id":6,"type":"ok"}' in run.stderr


def arrears_binary():
    """The arrears binary: $ARREARS_BIN, else the checkout's release or debug build."""
    named = os.environ.get("ARREARS_BIN")
    candidates = [Path(named)] if named else [
        REPO / "target" / "release" / "arrears", REPO / "target" / "debug" / "arrears"]
    return next((c for c in candidates if c.is_file() and os.access(c, os.X_OK)), None)


def test_the_example_passes_arrears_verify(tmp_path):
    binary = arrears_binary()
    if binary is None:
        message = ("the end-to-end test needs the arrears binary (cargo build, or ARREARS_BIN): "
                   "skipped")
        print(message, file=sys.stderr)
        pytest.skip(message)
    sut = f"{sys.executable} {EXAMPLE}"
    run = subprocess.run([str(binary), "verify", "--sut", sut, "--cases", "24",
                          "--no-coverage-gate"], capture_output=True, text=True, cwd=tmp_path,
                         timeout=300)
    context = f"exit {run.returncode}\n--- stdout\n{run.stdout}\n--- stderr\n{run.stderr}"
    assert run.returncode == 0, context
    assert any(line.startswith("differential") and "matches the model" in line
               for line in run.stdout.splitlines()), context
