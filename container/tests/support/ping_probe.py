"""GET /ping every 20 ms for SECONDS, then print the latencies as JSON.

    python -m tests.support.ping_probe URL SECONDS

Run as its own process so that what it measures is the server, not the GIL of the test
process (whose threads also run moto and the invoking clients).
"""

from __future__ import annotations

import json
import sys
import time

import requests


def main(url: str, seconds: float) -> int:
    session = requests.Session()
    latencies: list[float] = []
    in_flight: list[int] = []
    statuses: list[int] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.perf_counter()
        response = session.get(f"{url}/ping", timeout=30)
        latencies.append((time.perf_counter() - t0) * 1000)
        statuses.append(response.status_code)
        in_flight.append(response.json().get("in_flight", -1))
        time.sleep(0.02)
    print(json.dumps({"latencies_ms": latencies, "in_flight": in_flight, "statuses": statuses}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], float(sys.argv[2])))
