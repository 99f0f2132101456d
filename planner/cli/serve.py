"""``planner serve [--workspace DIR] [--port 8765] [--host 127.0.0.1] [--open]``: the local
web app (planner.web) for planners who do not use a terminal.

It listens on 127.0.0.1 unless ``--host`` says otherwise (another address makes the
app reachable from the network: only on a network you trust). A new workspace gets
a copy of the bundled Yunxi district and its demo scenario."""

from __future__ import annotations

from pathlib import Path

#: the default port and address
PORT = 8765
HOST = "127.0.0.1"


def register(sub) -> None:
    p = sub.add_parser("serve", help="start the local web app (District, Scenario, Run, "
                                     "Zones, Compare pages)")
    p.add_argument("--workspace", type=Path, default=Path("planner-workspace"),
                   help="folder of the app's districts, scenarios and runs "
                        "(default ./planner-workspace; created when missing)")
    p.add_argument("--port", type=int, default=PORT, help=f"port (default {PORT})")
    p.add_argument("--host", default=HOST,
                   help=f"address to listen on (default {HOST}: this computer only)")
    p.add_argument("--open", action="store_true", help="open the app in the browser")
    p.set_defaults(func=cmd_serve)


def cmd_serve(args) -> int:
    import threading
    import webbrowser

    import uvicorn

    from planner.cli.common import UsageError
    from planner.web.app import LOCAL_HOSTS, create_app
    if not 0 < args.port < 65536:
        raise UsageError(f"--port {args.port}: not a port number (1-65535)")
    if args.workspace.exists() and not args.workspace.is_dir():
        raise UsageError(f"--workspace {args.workspace}: not a folder")
    hosts = None if args.host in LOCAL_HOSTS else ["*"]
    app = create_app(args.workspace, allowed_hosts=hosts)
    shown = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    url = f"http://{shown}:{args.port}/"
    print(f"planner serve: {url}  (workspace {args.workspace.resolve()}; Ctrl+C stops)",
          flush=True)
    if args.open:
        threading.Timer(1.0, lambda: webbrowser.open(url)).start()
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
