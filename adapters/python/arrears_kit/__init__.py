"""arrears-kit: write an adapter that puts your billing engine under test of arrears.

arrears drives an implementation under test through the adapter protocol
(``arrears-adapter/1``, docs/protocol.md): JSON requests on standard input, JSON
replies on standard output, one per line. The kit reads and checks the
requests, dispatches them to the handler methods of your :class:`Adapter`,
writes the replies, and builds observations and trace events
(:mod:`arrears_kit.observations`), so that you write only the mapping to your
engine::

    from arrears_kit import Adapter, run, observations as obs

    class MyAdapter(Adapter):
        implementation = "my-engine 1.0"
        implements = {"maxcompute": ["pay-as-you-go"]}

        def load(self, start, accounts, resources): ...
        def apply(self, at, kind, event): ...
        def advance(self, to): ...
        def observe(self): return obs.observation(...), events

    if __name__ == "__main__":
        raise SystemExit(run(lambda args: MyAdapter()))

Standard library only. See adapters/python/README.md and the example
``arrears_maxcompute.py``.
"""

from . import observations
from .cli import run
from .instants import DAY, format_instant, offset_seconds, parse_instant, term_end
from .protocol import (PROTOCOL, Adapter, Advance, Apply, Bye, Hello, Load, Malformed, Observe,
                       Observed, Offer, OperationOffer, ProductOffer, Refused, Session,
                       UnknownRequest, Unsupported, answer, error, hello_reply, ok,
                       observation_reply, parse_request, read_requests, serve, unsupported,
                       write_reply)

__version__ = "0.1.0"

__all__ = [
    "DAY", "PROTOCOL", "Adapter", "Advance", "Apply", "Bye", "Hello", "Load", "Malformed",
    "Observe", "Observed", "Offer", "OperationOffer", "ProductOffer", "Refused", "Session",
    "UnknownRequest", "Unsupported", "answer", "error", "format_instant", "hello_reply",
    "observation_reply", "observations", "offset_seconds", "ok", "parse_instant",
    "parse_request", "read_requests", "run", "serve", "term_end", "unsupported", "write_reply",
]
