"""``adapter check-deploy``: before deploying a functions folder, the runs in flight it would break.

Exit codes: 0 when no Running run is affected, 1 when some are, 2 when the check could
not be made (bad arguments, a folder that does not load, Temporal unreachable).
"""

from __future__ import annotations

import argparse
import sys

from temporalio.service import RPCError

from adapter._observe.deploy_check import check_deploy, render_deploy_check
from adapter._observe.errors import one_line
from adapter._observe.render import console_for, to_json
from adapter._temporal.connect import connect
from adapter.cli.options import Subparsers, add_functions, add_temporal, load

CANNOT_CHECK = 2


def register(subparsers: Subparsers) -> None:
    """Add ``check-deploy`` to the ``adapter`` parser."""
    cmd = subparsers.add_parser(
        "check-deploy",
        help="list running runs whose recorded steps the functions folder would no longer reach",
    )
    add_functions(cmd)
    add_temporal(cmd)
    cmd.add_argument("--json", action="store_true", help="machine-readable output")
    cmd.set_defaults(handler=check_deploy_command)


async def check_deploy_command(args: argparse.Namespace) -> int:
    """Compare the Running runs of the folder's apps with the folder's code."""
    _, apps = load(args.functions)  # a LoadError exits with 2 (adapter.cli.main)
    try:
        client = await connect(args.address, args.namespace)
        report = await check_deploy(client, apps)
    except (RPCError, ConnectionError, RuntimeError, ValueError) as exc:
        print(f"adapter check-deploy: {one_line(exc)}", file=sys.stderr)
        return CANNOT_CHECK
    if args.json:
        print(to_json(report.to_json()), flush=True)
    else:
        render_deploy_check(console_for(sys.stdout), report)
    return 1 if report.affected else 0
