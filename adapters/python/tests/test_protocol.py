"""Framing, dispatch and malformed requests (arrears_kit.protocol)."""

import io
import json

import pytest

from arrears_kit import (PROTOCOL, Adapter, Apply, Hello, Load, Malformed, Refused,
                         UnknownRequest, Unsupported, answer, parse_request, read_requests, serve,
                         write_reply, observations as obs)

HELLO = json.dumps({"id": 1, "type": "hello", "protocol": PROTOCOL, "products": [
    {"product": "maxcompute", "title": "MaxCompute", "billing": ["subscription"],
     "operations": [{"id": "renew", "fee_incurring": True}],
     "fee_operations_denied_while_overdue": False}]})
LOAD = json.dumps({"id": 2, "type": "load", "history": {
    "start": "2026-01-01T00:00:00Z", "accounts": [{"id": "a-1", "cash": 0}], "resources": []}})
APPLY = json.dumps({"id": 3, "type": "apply", "at": "2026-01-02T00:00:00Z",
                    "event": {"top_up": {"at": "+1d", "account": "a-1", "amount": 100}}})
ADVANCE = json.dumps({"id": 4, "type": "advance", "to": "2026-01-03T00:00:00Z"})
OBSERVE = json.dumps({"id": 5, "type": "observe"})
BYE = json.dumps({"id": 6, "type": "bye"})
JAN_1 = 1767225600


class Recorder(Adapter):
    """Records what the handlers were given."""
    implementation = "recorder 1.0"
    implements = {"maxcompute": ["subscription"]}

    def __init__(self):
        super().__init__()
        self.calls = []
        self.now = 0

    def load(self, start, accounts, resources):
        self.calls.append(("load", start, [a["id"] for a in accounts], resources))
        self.now = start

    def apply(self, at, kind, event):
        self.calls.append(("apply", at, kind, event["amount"]))

    def advance(self, to):
        self.calls.append(("advance", to))
        self.now = to

    def observe(self):
        self.calls.append(("observe",))
        return obs.observation(at=self.now, accounts=[], resources=[]), []

    def bye(self):
        self.calls.append(("bye",))


class Flushes(io.StringIO):
    def __init__(self):
        super().__init__()
        self.flushed_at = []

    def flush(self):
        self.flushed_at.append(self.tell())
        super().flush()


def test_a_reply_is_one_compact_json_line_flushed_at_once():
    out = Flushes()
    line = write_reply(out, 7, {"type": "ok"})
    assert line == '{"id":7,"type":"ok"}'
    assert out.getvalue() == line + "\n"
    assert out.flushed_at == [len(line) + 1]


def test_requests_are_parsed_into_their_types():
    hello = parse_request(HELLO)
    assert isinstance(hello, Hello) and hello.protocol == PROTOCOL
    product = hello.offer.product("maxcompute")
    assert product.billing == ("subscription",) and product.operation_ids == ["renew"]
    load = parse_request(LOAD)
    assert isinstance(load, Load) and load.start == JAN_1 and load.resources == []
    apply = parse_request(APPLY)
    assert isinstance(apply, Apply)
    assert (apply.at, apply.kind, apply.event["amount"]) == (JAN_1 + 86400, "top_up", 100)


def test_read_requests_skips_blank_lines():
    parsed = list(read_requests(io.StringIO(HELLO + "\n\n  \n" + BYE + "\n")))
    assert [r.id for r in parsed] == [1, 6]


def test_the_handlers_get_each_request_in_turn_and_hello_is_answered_for_them():
    adapter = Recorder()
    replies = answer(adapter, [HELLO, LOAD, APPLY, ADVANCE, OBSERVE, BYE])
    assert [(r["id"], r["type"]) for r in replies] == [
        (1, "hello"), (2, "ok"), (3, "ok"), (4, "ok"), (5, "observation"), (6, "ok")]
    assert replies[0] == {"id": 1, "type": "hello", "protocol": PROTOCOL,
                          "implementation": "recorder 1.0",
                          "implements": [{"product": "maxcompute", "billing": ["subscription"]}]}
    assert replies[4]["observation"]["at"] == "2026-01-03T00:00:00Z"
    assert replies[4]["events"] == []
    assert adapter.calls == [("load", JAN_1, ["a-1"], []), ("apply", JAN_1 + 86400, "top_up", 100),
                             ("advance", JAN_1 + 2 * 86400), ("observe",), ("bye",)]
    assert adapter.offer.product("maxcompute") is not None


def test_readings_are_declared_when_set():
    class Reads(Recorder):
        readings = {"maxcompute.interp.fee-operations-while-overdue": "refused"}

    hello = answer(Reads(), [HELLO])[0]
    assert hello["readings"] == {"maxcompute.interp.fee-operations-while-overdue": "refused"}
    assert "readings" not in answer(Recorder(), [HELLO])[0]


def test_a_request_before_any_history_is_an_error():
    replies = answer(Recorder(), [HELLO, APPLY, OBSERVE])
    assert [r["type"] for r in replies] == ["hello", "error", "error"]
    assert replies[1] == {"id": 3, "type": "error", "message": "no history is loaded"}


class Failing(Recorder):
    def apply(self, at, kind, event):
        if kind == "top_up":
            raise Unsupported("no top-ups here")
        if kind == "pay_now":
            raise Refused("unknown account `a-9`")
        raise KeyError("resource")

    def observe(self):
        return {"at": "now"}


def test_handler_exceptions_become_replies_and_the_adapter_goes_on(capsys):
    def apply(i, kind):
        return json.dumps({"id": i, "type": "apply", "at": "2026-01-02T00:00:00Z",
                           "event": {kind: {"at": "+1d"}}})

    replies = answer(Failing(), [HELLO, LOAD, apply(3, "top_up"), apply(4, "pay_now"),
                                 apply(5, "charge"), OBSERVE, ADVANCE])
    assert replies[2] == {"id": 3, "type": "unsupported", "reason": "no top-ups here"}
    assert replies[3] == {"id": 4, "type": "error", "message": "unknown account `a-9`"}
    assert replies[4] == {"id": 5, "type": "error", "message": "KeyError: 'resource'"}
    assert replies[5]["type"] == "error"
    assert "Failing.observe must return (observation, events), not dict" in replies[5]["message"]
    assert replies[6] == {"id": 4, "type": "ok"}
    # The unexpected exceptions' tracebacks go to standard error, for the author.
    assert "KeyError" in capsys.readouterr().err


@pytest.mark.parametrize("line,reply_id,message", [
    ("not json", 0, "failed to read the request: it is not JSON"),
    ("[1, 2]", 0, "it is not a JSON object"),
    ('{"id": "one", "type": "observe"}', 0, "`id` must be a whole number, not \"one\""),
    ('{"id": true, "type": "observe"}', 0, "`id` must be a whole number, not true"),
    ('{"id": 3, "type": 5}', 3, "`type` must be a string, not 5"),
    ('{"id": 3, "type": "advance"}', 3, "request 3 (advance): `to` must be an RFC 3339 instant"),
    ('{"id": 3, "type": "advance", "to": "soon"}', 3, "`to`: `soon` is not an RFC 3339 instant"),
    ('{"id": 3, "type": "apply", "at": "2026-01-02T00:00:00Z", "event": {"a": {}, "b": {}}}', 3,
     "`event` must be a one-key object"),
    ('{"id": 3, "type": "load", "history": {"start": "2026-01-01T00:00:00Z"}}', 3,
     "`accounts` must be an array of objects"),
    ('{"id": 3, "type": "hello", "protocol": "x", "products": [{"product": "ecs"}]}', 3,
     "products[0]: `billing` must be an array"),
])
def test_a_malformed_request_gets_an_error_naming_what_is_wrong(line, reply_id, message):
    parsed = parse_request(line)
    assert isinstance(parsed, Malformed)
    reply = answer(Recorder(), [line])[0]
    assert reply["id"] == reply_id and reply["type"] == "error"
    assert message in reply["message"]


def test_an_unknown_request_is_unsupported():
    line = '{"id": 4, "type": "rewind"}'
    assert parse_request(line) == UnknownRequest(4, "rewind")
    assert answer(Recorder(), [line]) == [
        {"id": 4, "type": "unsupported", "reason": "unknown request `rewind`"}]


def test_serve_answers_line_by_line_and_stops_after_bye():
    out = Flushes()
    trace = io.StringIO()
    serve(Recorder(), io.StringIO("\n".join([HELLO, LOAD, "", BYE, OBSERVE]) + "\n"), out,
          trace=trace)
    lines = out.getvalue().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [1, 2, 6]
    assert len(out.flushed_at) == 3
    assert trace.getvalue().count("\n> ") + trace.getvalue().startswith("> ") == 3
    assert '< {"id":6,"type":"ok"}' in trace.getvalue()


def test_serve_ends_quietly_when_arrears_went_away():
    class Closed(io.StringIO):
        def write(self, text):
            raise BrokenPipeError

    serve(Recorder(), io.StringIO(HELLO + "\n" + BYE + "\n"), Closed())
