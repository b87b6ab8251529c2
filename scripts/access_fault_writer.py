"""Fault-test writer: saves whole clusters through the real service, one transaction per save.

``python -m scripts.access_fault_writer --writer 3 --saves 25 --log /tmp/w3.log [--start-file PATH]
[--serializable] [--attempts 30]``

Each save is ``clusters.create_cluster`` (a cluster, its sector, three members, an audit event and a
data-version bump) in one write unit of work. After each commit the writer appends
``<name> <seconds> <attempts>`` to its log and flushes, so a test that kills the process knows which
saves were committed before the kill. ``--saves 0`` saves until killed. Exit code 0 means every save
committed; any error is printed and exits 1.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--writer", required=True)
    parser.add_argument("--saves", type=int, default=0)
    parser.add_argument("--log", required=True)
    parser.add_argument("--start-file", default="")
    parser.add_argument("--serializable", action="store_true")
    parser.add_argument("--jitter", action="store_true", help="random extra wait before each retry")
    parser.add_argument("--rounds", type=int, default=1,
                        help="call run_write up to this many times (random pause between) before giving up")
    parser.add_argument("--attempts", type=int, default=int(os.environ.get("FAULT_ATTEMPTS", "10")))
    args = parser.parse_args(argv)

    from assessments.access import Actor
    from assessments.clusters import ClusterInput, create_cluster
    from db.engine import _is_retryable, get_engine, run_write

    actor = Actor(username=f"writer-{args.writer}", role="admin")
    get_engine().connect().close()  # open the pool before the start signal
    with open(args.log, "a", buffering=1) as log:
        log.write("ready\n")
        while args.start_file and not os.path.exists(args.start_file):
            time.sleep(0.002)
        number = 0
        while args.saves == 0 or number < args.saves:
            number += 1
            name = f"fault-{args.writer}-{number}"
            data = ClusterInput(name=name, department_code="22", wave=1, sectors=["education"],
                                government_ubigeos=["22", "2205", "220510"], notes="fault test")
            tries = 0

            def save(session):
                nonlocal tries
                tries += 1
                if tries > 1 and args.jitter and tries % 5 != 1:
                    # run_write's backoff has no jitter: 50 writers retrying in step collide again
                    time.sleep(random.uniform(0, 0.02 * 2 ** min(tries, 7)))
                if args.serializable:
                    session.connection(execution_options={"isolation_level": "SERIALIZABLE"})
                create_cluster(session=session, actor=actor, data=data)

            started = time.perf_counter()
            for round_number in range(1, args.rounds + 1):
                try:
                    run_write(save, attempts=args.attempts)
                    break
                except Exception as error:  # noqa: BLE001 - the test reads the reason
                    if round_number == args.rounds or not _is_retryable(error):
                        print(f"save {name} failed after {tries} attempts: {error!r}", file=sys.stderr, flush=True)
                        return 1
                    time.sleep(random.uniform(0, 0.5))
            log.write(f"{name} {time.perf_counter() - started:.6f} {tries}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
