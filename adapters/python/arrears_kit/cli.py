"""The command line every kit adapter shares (argparse): ``--trace`` and ``--version``.

:func:`run` parses the arguments, builds the adapter and serves it on standard
input and output until ``bye``. An adapter with options of its own passes its
own parser, to which the kit adds its arguments, and a factory that reads them.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Callable, Optional, Sequence

from .protocol import PROTOCOL, Adapter, serve


def add_arguments(parser: argparse.ArgumentParser, version: str) -> None:
    """Adds the kit's arguments to an adapter's parser."""
    parser.add_argument("--trace", action="store_true",
                        help="copy every request and reply to standard error (arrears shows "
                             "its last lines when the adapter breaks the protocol)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {version} ({PROTOCOL})")


def run(make_adapter: Callable[[argparse.Namespace], Adapter],
        argv: Optional[Sequence[str]] = None, *,
        parser: Optional[argparse.ArgumentParser] = None, version: str = "0.1.0") -> int:
    """Parses ``argv`` (default: the process's), builds the adapter with
    ``make_adapter(args)`` and serves it on standard input and output.
    Returns the exit status: 0 after ``bye``, the end of the input or a closed output."""
    if parser is None:
        parser = argparse.ArgumentParser(
            description="An implementation under test of arrears, speaking the adapter "
                        f"protocol ({PROTOCOL}) on standard input and output.")
    add_arguments(parser, version)
    args = parser.parse_args(argv)
    adapter = make_adapter(args)
    # arrears writes UTF-8; do not depend on the locale.
    for stream in (sys.stdin, sys.stdout):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(encoding="utf-8")
    try:
        serve(adapter, sys.stdin, sys.stdout, trace=sys.stderr if args.trace else None)
        sys.stdout.flush()
    except BrokenPipeError:
        # arrears went away: nothing more to say. Point stdout at /dev/null so
        # that the interpreter's own flush at exit does not complain either.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 0
