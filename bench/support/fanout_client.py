"""The naive fan-out floor's clients: ``clients`` WebSockets on the floor server's ``/ws``
(gevent greenlets over websocket-client). Prints ``{"op": "ready"}`` once all are connected,
then the delay (receipt minus the server's send stamp) of every message each receives, until
``expect`` messages each or ``max_seconds``. Loopback only."""

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402
import websocket  # noqa: E402


def main() -> None:
    config = json.loads(sys.argv[1])
    if not config["url"].startswith("ws://127.0.0.1:"):
        raise SystemExit("the fan-out clients talk to loopback only")
    sockets = [
        websocket.create_connection(config["url"], timeout=30) for _ in range(config["clients"])
    ]
    print(json.dumps({"op": "ready", "connected": len(sockets)}), flush=True)
    delays, deadline = [], time.monotonic() + config["max_seconds"]

    def read(ws):
        for _ in range(config["expect"]):
            ws.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                message = json.loads(ws.recv())
            except (websocket.WebSocketException, OSError):
                return
            delays.append(time.monotonic() - message["sent"])

    gevent.joinall([gevent.spawn(read, ws) for ws in sockets], timeout=config["max_seconds"] + 5)
    for ws in sockets:
        ws.close()
    print(json.dumps({"op": "result", "delays": delays}), flush=True)


if __name__ == "__main__":
    main()
