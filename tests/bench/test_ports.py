"""The servers' ports: outside the kernel's ephemeral range, one block per xdist worker."""

import os

from bench.support import ports


def test_each_worker_has_its_own_block_below_the_ephemeral_range():
    blocks = [ports.block(f"gw{i}", "8", start=32768) for i in range(8)]
    taken = [port for b in blocks for port in b]
    assert len(taken) == len(set(taken)), "two workers share a port"
    assert min(taken) >= ports.LOWEST
    assert max(taken) < 32768
    assert len(blocks[0]) == (32768 - ports.LOWEST) // 8


def test_outside_xdist_the_whole_range_is_one_block():
    assert ports.block(None, None, start=32768) == range(ports.LOWEST, 32768)
    assert ports.block("gw9", "8", start=32768) == range(ports.LOWEST, 32768)
    assert ports.block("master", "x", start=32768) == range(ports.LOWEST, 32768)


def test_free_ports_come_from_this_workers_block_and_skip_a_taken_one():
    import socket

    mine = ports.block(
        os.environ.get("PYTEST_XDIST_WORKER"), os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    )
    first = ports.free_port()
    assert first in mine
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", first))
        holder.listen()
        seen = {ports.free_port() for _ in range(len(mine))}  # a full turn, past the held one
    assert first not in seen
    assert seen <= set(mine)
