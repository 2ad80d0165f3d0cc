"""Instructions the web process executes per request, counted by valgrind's callgrind: a
figure far steadier than CPU seconds, which on a shared host swing by half from one minute to
the next (two runs of one tree, one of them beside other work, differed by up to 14%: trees
are compared within one run, as ``--against`` does).

Each figure comes from a process of its own run under ``valgrind --tool=callgrind`` with
counting off: it makes a scratch PostgreSQL database, serves the application in-process
(Flask's test client, as ``request_cpu`` does) and warms it, then counts only while it sends
``--requests`` requests of one kind (it turns counting on and off with ``callgrind_control``).
Kinds: issuing a ticket (``POST /api/v1/queues/<id>/tickets``) and the queue list
(``GET /api/v1/queues``), each with an administrator's bearer token.

``--against REV`` measures a commit of this repository the same way, in a temporary git
worktree with its own bench harness, and prints each figure beside it as a ratio. Counting
slows the process about fifty times: the default of 200 requests of each kind takes a few
minutes per tree.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess  # nosec B404 - valgrind, git and this script, fixed argument lists
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve()
REPO = HERE.parents[1]
NAME = "request_instructions"
KINDS = ("issue a ticket", "GET /api/v1/queues")
COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="of each kind (200)")
    parser.add_argument(
        "--against", action="append", default=[], metavar="REV", help="a commit to compare"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file, as JSON")
    parser.add_argument("--child", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--tree", type=Path, default=REPO, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# -- the measured process -------------------------------------------------------------------


def _counting(on: bool) -> None:
    subprocess.run(  # nosec B603 B607 - valgrind's own control script, on this process
        ["callgrind_control", f"--instr={'on' if on else 'off'}", str(os.getpid())],
        check=True,
        capture_output=True,
    )


def child(kind: str, tree: Path, requests: int) -> None:
    """Serve ``requests`` requests of ``kind`` with the application of ``tree``, counting."""
    sys.path.insert(0, str(tree / "bench"))
    from support.harness import Stack, add_common_arguments  # the tree's own harness

    class InProcess(Stack):
        def start_server(self) -> None:
            return None

    parser = argparse.ArgumentParser()
    add_common_arguments(parser)
    args = parser.parse_args(["--postgres"])
    with InProcess(args) as stack:
        from web import create_app

        assert Path(sys.modules["web"].__file__).is_relative_to(tree), "not the tree's code"
        client = create_app(runtime=stack.runtime).test_client()
        headers = {"Authorization": f"Bearer {stack.user_token(['admin'])}"}
        if kind == KINDS[0]:
            path, expect = f"/api/v1/queues/{stack.queue()['queue_id']}/tickets", 201
            headers["Content-Type"] = "application/json"

            def send():
                return client.post(path, data="{}", headers=headers)

        else:
            stack.queue()
            expect = 200

            def send():
                return client.get("/api/v1/queues", headers=headers)

        for _ in range(30):  # warm: compiled statements, prepared queries, pools
            assert send().status_code == expect
        _counting(True)
        for _ in range(requests):
            answer = send()
            assert answer.status_code == expect, answer.get_data(as_text=True)
        _counting(False)


# -- the driver -----------------------------------------------------------------------------


def count(tree: Path, kind: str, requests: int) -> float:
    """Instructions per request of ``kind`` with the code of ``tree``."""
    command = [
        "valgrind", "--tool=callgrind", "--instr-atstart=no", "--callgrind-out-file=/dev/null",
        sys.executable, str(HERE),
        "--child", kind, "--tree", str(tree), "--requests", str(requests),
    ]  # fmt: skip
    done = subprocess.run(  # nosec B603 - the fixed command above
        command, cwd=tree, capture_output=True, text=True, check=False
    )
    found = COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"{kind} on {tree} failed:\n{done.stderr[-3000:]}")
    return int(found.group(1)) / requests


def worktree(rev: str, into: Path) -> Path:
    path = into / re.sub(r"[^A-Za-z0-9_.-]", "_", rev)
    subprocess.run(  # nosec B603 B607 - git, a fixed argument list
        ["git", "-C", str(REPO), "worktree", "add", "--detach", "--quiet", str(path), rev],
        check=True,
    )
    return path


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.child:
        child(args.child, args.tree.resolve(), args.requests)
        return 0
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        raise SystemExit("valgrind (with callgrind_control) is needed: apt-get install valgrind")
    figures: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="clinic-instructions-") as scratch:
        trees = {"this tree": REPO}
        try:
            for rev in args.against:
                trees[rev] = worktree(rev, Path(scratch))
            for label, tree in trees.items():
                figures[label] = {kind: count(tree, kind, args.requests) for kind in KINDS}
        finally:
            for label, tree in trees.items():
                if tree != REPO:
                    subprocess.run(  # nosec B603 B607 - git, a fixed argument list
                        ["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)],
                        check=False,
                    )
    print(f"{NAME}: millions of instructions per request, {args.requests} of each kind")
    for kind in KINDS:
        ours = figures["this tree"][kind]
        line = f"  {kind:22s} this tree {ours / 1e6:7.2f}"
        for rev in args.against:
            theirs = figures[rev][kind]
            line += f" | {rev} {theirs / 1e6:7.2f} ({ours / theirs:.2f}x)"
        print(line)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
