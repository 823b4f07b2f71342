"""`agentkit-helpdesk`: the human side of the queue (list, take and resolve tickets)."""

from __future__ import annotations

import argparse
import os
import sys

from .queue import HelpdeskQueue
from .tools import ENV_VAR


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="agentkit-helpdesk", description=__doc__)
    parser.add_argument("--db", default=os.environ.get(ENV_VAR), help=f"queue file (default: ${ENV_VAR})")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="waiting tickets, next first")
    take = commands.add_parser("take", help="start handling a ticket")
    take.add_argument("ticket", type=int)
    take.add_argument("--as", dest="assignee", required=True)
    resolve = commands.add_parser("resolve", help="close a ticket")
    resolve.add_argument("ticket", type=int)
    resolve.add_argument("resolution")
    args = parser.parse_args(argv)
    if not args.db:
        parser.error(f"give --db or set {ENV_VAR}")
    queue = HelpdeskQueue(args.db)
    try:
        if args.command == "list":
            for ticket in queue.waiting():
                who = ticket.customer or "unknown caller"
                print(f"{ticket.reference}  {ticket.priority:<6}  {ticket.reason:<16}  {who}: {ticket.summary}")
        elif args.command == "take":
            print(queue.take(args.ticket, args.assignee).reference, "taken")
        else:
            print(queue.resolve(args.ticket, args.resolution).reference, "resolved")
    except (KeyError, ValueError) as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
