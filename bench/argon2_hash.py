"""The argon2id hash of the bench's password with the server's profile ('low'), timed:
`python -m bench.argon2_hash ROUNDS` prints the medians as JSON. `bench/dashboard.py`
runs it in a process of its own, started with the environment `portal serve` gives
itself."""

from __future__ import annotations

import json
import statistics
import sys
import time

from bench import dataset
from gql.auth.passwords import hash_password


def medians(rounds: int) -> dict[str, float]:
    """Median wall and CPU time (all lanes' threads) of one hash, in this process."""
    wall, cpu = [], []
    for _ in range(rounds):
        started, started_cpu = time.perf_counter(), time.process_time()
        hash_password(dataset.PASSWORD, "low")
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return {
        "rounds": rounds,
        "wall_ms": round(statistics.median(wall) * 1000, 1),
        "cpu_ms": round(statistics.median(cpu) * 1000, 1),
    }


if __name__ == "__main__":
    print(json.dumps(medians(int(sys.argv[1]))))
