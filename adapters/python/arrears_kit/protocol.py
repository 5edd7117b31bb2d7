"""The adapter protocol (arrears-adapter/1) from the adapter's side.

arrears writes one JSON request per line to the adapter's standard input and
reads one JSON reply per line from its standard output (docs/protocol.md).
This module reads and checks requests (:func:`parse_request`,
:func:`read_requests`), writes replies (:func:`write_reply` and the reply
builders), and dispatches each request to the handler methods of an
:class:`Adapter` (:func:`answer`, :func:`serve`), so that an adapter author
writes only those methods.

Every request gets exactly one reply, flushed at once: a malformed line gets
an ``error`` reply, an unknown request type an ``unsupported`` one, and an
exception in a handler becomes a reply instead of a crash (:class:`Unsupported`
-> ``unsupported``, anything else -> ``error``, with its traceback on standard
error). Instants are whole Unix seconds (:mod:`arrears_kit.instants`).
"""

from __future__ import annotations

import json
import sys
import traceback
from dataclasses import dataclass, field
from typing import (Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, TextIO,
                    Tuple, Union)

from .instants import parse_instant
from .observations import JSON, fee_operation

PROTOCOL = "arrears-adapter/1"
"""The protocol version arrears and the kit speak."""

Observed = Tuple[JSON, List[JSON]]
"""What :meth:`Adapter.observe` returns: the observation and the events since the last one."""


class Unsupported(Exception):
    """The request needs something the adapter does not implement: the reply is
    ``unsupported`` and arrears reports the history as skipped."""


class Refused(Exception):
    """The request cannot be carried out (an unknown resource, events out of order):
    the reply is ``error`` and arrears reports the history as failing."""


# --- requests -------------------------------------------------------------------------


@dataclass(frozen=True)
class OperationOffer:
    """An operation of a product: its id, and whether it incurs a fee."""
    id: str
    fee_incurring: bool


@dataclass(frozen=True)
class ProductOffer:
    """A product the specs cover, as the hello request offers it."""
    product: str
    title: str
    billing: Tuple[str, ...]
    operations: Tuple[OperationOffer, ...] = ()
    fee_operations_denied_while_overdue: bool = False

    @property
    def operation_ids(self) -> List[str]:
        """Every operation of the product: the keys of a resource's ``operations``."""
        return [op.id for op in self.operations]


@dataclass(frozen=True)
class Offer:
    """What the specs cover (the hello request's ``products``)."""
    products: Tuple[ProductOffer, ...] = ()

    def product(self, product_id: str) -> Optional[ProductOffer]:
        return next((p for p in self.products if p.product == product_id), None)

    def fee_operations(self, overdue: bool) -> List[JSON]:
        """An account's ``fee_operations`` as the specs have them: every fee-incurring
        operation of every product, refused while the account is ``overdue`` where
        that product's document refuses them."""
        return [fee_operation(product=p.product, operation=op.id,
                              allowed=not (overdue and p.fee_operations_denied_while_overdue))
                for p in self.products for op in p.operations if op.fee_incurring]


@dataclass(frozen=True)
class Hello:
    id: int
    protocol: str
    offer: Offer


@dataclass(frozen=True)
class Load:
    """The start of a history: its instant, accounts and resources, as in a history file."""
    id: int
    start: int
    accounts: List[JSON]
    resources: List[JSON]


@dataclass(frozen=True)
class Apply:
    """One event at instant ``at``: ``kind`` is its key (``charge``, ``top_up``...),
    ``event`` its fields (with its own ``at``, an offset from the start)."""
    id: int
    at: int
    kind: str
    event: JSON


@dataclass(frozen=True)
class Advance:
    id: int
    to: int


@dataclass(frozen=True)
class Observe:
    id: int


@dataclass(frozen=True)
class Bye:
    id: int


@dataclass(frozen=True)
class UnknownRequest:
    """A well-formed request of a type this kit does not know."""
    id: int
    type: str


@dataclass(frozen=True)
class Malformed:
    """A line that is not a request: ``id`` is 0 when it could not be read."""
    id: int
    message: str


Request = Union[Hello, Load, Apply, Advance, Observe, Bye, UnknownRequest]


class _Bad(Exception):
    pass


def _get(obj: Mapping[str, Any], key: str, kind: type, what: str) -> Any:
    value = obj.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _Bad(f"`{key}` must be {what}, not {json.dumps(value)}")
    return value


def _instant_field(obj: Mapping[str, Any], key: str) -> int:
    text = _get(obj, key, str, "an RFC 3339 instant")
    try:
        return parse_instant(text)
    except ValueError as e:
        raise _Bad(f"`{key}`: {e}") from None


def _objects(obj: Mapping[str, Any], key: str, required: bool) -> List[JSON]:
    if key not in obj and not required:
        return []
    values: List[Any] = _get(obj, key, list, "an array of objects")
    objects: List[JSON] = [v for v in values if isinstance(v, dict)]
    if len(objects) != len(values):
        raise _Bad(f"`{key}` must be an array of objects")
    return objects


def _offer(products: List[JSON]) -> Offer:
    out = []
    for i, p in enumerate(products):
        try:
            ops = tuple(OperationOffer(id=_get(o, "id", str, "a string"),
                                       fee_incurring=_get(o, "fee_incurring", bool, "true or false"))
                        for o in _objects(p, "operations", False))
            billing = _get(p, "billing", list, "an array of billing methods")
            out.append(ProductOffer(
                product=_get(p, "product", str, "a string"),
                title=str(p.get("title") or ""),
                billing=tuple(str(b) for b in billing),
                operations=ops,
                fee_operations_denied_while_overdue=bool(
                    p.get("fee_operations_denied_while_overdue", False)),
            ))
        except _Bad as e:
            raise _Bad(f"products[{i}]: {e}") from None
    return Offer(products=tuple(out))


def parse_request(line: str) -> Union[Request, Malformed]:
    """Reads one line of arrears' input. Never raises: a line that is not a
    request of the protocol is a :class:`Malformed` naming what is wrong."""
    try:
        value = json.loads(line)
    except ValueError as e:
        return Malformed(0, f"failed to read the request: it is not JSON ({e})")
    if not isinstance(value, dict):
        return Malformed(0, "failed to read the request: it is not a JSON object")
    raw_id = value.get("id")
    if isinstance(raw_id, bool) or not isinstance(raw_id, int) or raw_id < 0:
        return Malformed(0, f"failed to read the request: `id` must be a whole number, "
                            f"not {json.dumps(raw_id)}")
    kind = value.get("type")
    if not isinstance(kind, str):
        return Malformed(raw_id, f"failed to read request {raw_id}: `type` must be a string, "
                                 f"not {json.dumps(kind)}")
    try:
        if kind == "hello":
            return Hello(raw_id, _get(value, "protocol", str, "a string"),
                         _offer(_objects(value, "products", False)))
        if kind == "load":
            history = _get(value, "history", dict, "an object")
            return Load(raw_id, _instant_field(history, "start"),
                        _objects(history, "accounts", True), _objects(history, "resources", False))
        if kind == "apply":
            event = _get(value, "event", dict, "a one-key object such as {\"charge\": {...}}")
            if len(event) != 1 or not isinstance(next(iter(event.values())), dict):
                raise _Bad("`event` must be a one-key object such as {\"charge\": {...}}")
            (event_kind, fields), = event.items()
            return Apply(raw_id, _instant_field(value, "at"), event_kind, fields)
        if kind == "advance":
            return Advance(raw_id, _instant_field(value, "to"))
        if kind == "observe":
            return Observe(raw_id)
        if kind == "bye":
            return Bye(raw_id)
    except _Bad as e:
        return Malformed(raw_id, f"failed to read request {raw_id} ({kind}): {e}")
    return UnknownRequest(raw_id, kind)


def read_requests(stream: Iterable[str]) -> Iterator[Union[Request, Malformed]]:
    """The requests of a stream of lines (standard input), blank lines skipped."""
    for line in stream:
        if line.strip():
            yield parse_request(line)


# --- replies --------------------------------------------------------------------------


def ok() -> JSON:
    return {"type": "ok"}


def error(message: str) -> JSON:
    return {"type": "error", "message": message}


def unsupported(reason: str) -> JSON:
    return {"type": "unsupported", "reason": reason}


def hello_reply(implementation: str, implements: Mapping[str, Sequence[str]],
                readings: Optional[Mapping[str, str]] = None) -> JSON:
    """The hello reply: a name for reports, and per product the billing methods
    implemented (``{"maxcompute": ["subscription", "pay-as-you-go"]}``)."""
    reply: JSON = {"type": "hello", "protocol": PROTOCOL, "implementation": implementation,
                   "implements": [{"product": p, "billing": list(b)} for p, b in implements.items()]}
    if readings:
        reply["readings"] = dict(readings)
    return reply


def observation_reply(observation: JSON, events: Sequence[JSON]) -> JSON:
    return {"type": "observation", "observation": observation, "events": list(events)}


def write_reply(stream: TextIO, request_id: int, reply: Mapping[str, Any]) -> str:
    """Writes one reply as one JSON line and flushes it; returns the line."""
    line = json.dumps({"id": request_id, **reply}, separators=(",", ":"))
    stream.write(line + "\n")
    stream.flush()
    return line


# --- dispatch -------------------------------------------------------------------------


class Adapter:
    """The base of an adapter: override the handlers that map requests to your engine.

    Set ``implementation`` (a name and version for reports), ``implements``
    (product id -> billing methods) and optionally ``readings``; hello is then
    answered for you, and the offer is kept in ``self.offer``. A handler raises
    :class:`Unsupported` for what it does not implement, :class:`Refused` for
    what cannot be done; any other exception becomes an ``error`` reply too.
    Instants are Unix seconds.
    """

    implementation: str = "an arrears-kit adapter"
    implements: Mapping[str, Sequence[str]] = {}
    readings: Mapping[str, str] = {}

    def __init__(self) -> None:
        self.offer = Offer()

    def hello(self, offer: Offer) -> JSON:
        """Keeps the offer and declares ``implements`` and ``readings``."""
        self.offer = offer
        return hello_reply(self.implementation, self.implements, self.readings)

    def load(self, start: int, accounts: List[JSON], resources: List[JSON]) -> None:
        """Forget everything; load a new history whose clock starts at ``start``."""
        raise Unsupported("this adapter does not load histories")

    def apply(self, at: int, kind: str, event: JSON) -> None:
        """Apply one event at ``at``, after running what is due before ``at``."""
        raise Unsupported(f"this adapter does not apply `{kind}` events")

    def advance(self, to: int) -> None:
        """Run everything due up to and including ``to``."""
        raise Unsupported("this adapter does not advance its clock")

    def observe(self) -> Observed:
        """What the engine shows now, and its events since the last observe (or load)."""
        raise Unsupported("this adapter does not observe")

    def bye(self) -> None:
        """The last request: release what the adapter holds."""


@dataclass
class Session:
    """Dispatches requests to one adapter, remembering whether a history is loaded."""
    adapter: Adapter
    loaded: bool = False
    finished: bool = field(default=False)

    def answer(self, request: Union[Request, Malformed]) -> JSON:
        """The reply to one request (without its id). Never raises for what the
        adapter does; a BaseException such as KeyboardInterrupt passes through."""
        if isinstance(request, Malformed):
            return error(request.message)
        if isinstance(request, UnknownRequest):
            return unsupported(f"unknown request `{request.type}`")
        try:
            return self._dispatch(request)
        except Unsupported as e:
            return unsupported(str(e))
        except Refused as e:
            return error(str(e))
        except Exception as e:  # never crash: report it, and go on
            traceback.print_exc(file=sys.stderr)
            return error(f"{type(e).__name__}: {e}")

    def _dispatch(self, request: Request) -> JSON:
        a = self.adapter
        if isinstance(request, Hello):
            return a.hello(request.offer)
        if isinstance(request, Bye):
            self.finished = True
            a.bye()
            return ok()
        if isinstance(request, Load):
            self.loaded = False
            a.load(request.start, request.accounts, request.resources)
            self.loaded = True
            return ok()
        if not self.loaded:
            raise Refused("no history is loaded")
        if isinstance(request, Apply):
            a.apply(request.at, request.kind, request.event)
            return ok()
        if isinstance(request, Advance):
            a.advance(request.to)
            return ok()
        if isinstance(request, Observe):
            observed = a.observe()
            if not (isinstance(observed, tuple) and len(observed) == 2
                    and isinstance(observed[0], dict) and isinstance(observed[1], list)):
                raise TypeError(f"{type(a).__name__}.observe must return (observation, events), "
                                f"not {type(observed).__name__}")
            return observation_reply(*observed)
        raise TypeError(f"no handler for {request!r}")


def serve(adapter: Adapter, input: Iterable[str], output: TextIO,
          trace: Optional[TextIO] = None) -> None:
    """Answers requests from ``input`` on ``output`` until ``bye`` or the end of the
    input. With ``trace``, copies each request and reply there (``>``/``<`` lines).
    A closed output (arrears went away) ends the conversation quietly."""
    session = Session(adapter)
    for line in input:
        if not line.strip():
            continue
        request = parse_request(line)
        reply = session.answer(request)
        request_id = request.id
        try:
            written = write_reply(output, request_id, reply)
        except BrokenPipeError:
            return
        if trace is not None:
            trace.write(f"> {line.rstrip()}\n< {written}\n")
            trace.flush()
        if session.finished:
            return


def answer(adapter: Adapter, requests: Iterable[str]) -> List[Dict[str, Any]]:
    """Runs request lines through a fresh session and returns the replies as objects:
    a transcript for tests."""
    session = Session(adapter)
    replies = []
    for line in requests:
        if line.strip():
            request = parse_request(line)
            replies.append({"id": request.id, **session.answer(request)})
            if session.finished:
                break
    return replies
