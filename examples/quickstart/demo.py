"""Quick-start demo (``make demo``): a real consumer process works through ~3000 tasks.

1. starts ``huey_consumer tasks.huey`` (two worker threads) on a fresh SQLite file;
2. places orders as a producer would, with a progress bar: each order enqueues an
   address check, a three-stage pipeline (reserve stock, charge the card with retries,
   e-mail a receipt), a reminder scheduled a second later and a low-priority metric;
3. follows the results as the consumer stores them, with a second progress bar;
4. stops the consumer gracefully (SIGINT) and prints a summary.

Exits 0 when every task was accounted for and the consumer stopped cleanly, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from huey import Result
from huey.exceptions import TaskException

HERE = Path(__file__).resolve().parent
TASKS_PER_ORDER = 6  # address check, three pipeline stages, reminder, metric
BAR_WIDTH = 40
CONSUMER_FLAGS = ("-w", "2", "-d", "0.01", "-m", "0.1", "-S")


class ProgressBar:
    """A one-line text progress bar (redrawn in place on a terminal).

    Args:
        label: shown before the bar.
        total: the count at 100 %.
        out: where to draw.
    """

    def __init__(self, label: str, total: int, out: TextIO = sys.stdout) -> None:
        self.label = label
        self.total = max(total, 1)
        self.out = out
        self.tty = out.isatty()
        self._last_tenth = -1

    def update(self, done: int) -> None:
        """Show ``done`` out of ``total``."""
        fraction = min(done / self.total, 1.0)
        tenth = int(fraction * 10)
        # Off a terminal, redraw only every 10 % so logs stay readable.
        if not self.tty and tenth == self._last_tenth:
            return
        self._last_tenth = tenth
        filled = int(fraction * BAR_WIDTH)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        line = f"{self.label:<10} [{bar}] {done:>5}/{self.total} {fraction:6.1%}"
        self.out.write(f"\r{line}" if self.tty else f"{line}\n")
        self.out.flush()

    def close(self) -> None:
        """End the bar's line."""
        if self.tty:
            self.out.write("\n")
            self.out.flush()


@dataclass
class Tally:
    """What the producer reads back from the result store.

    Attributes:
        receipts: pipelines whose e-mail went out.
        declined: pipelines that failed for good (card declined).
        retried: charges that needed more than one attempt.
        done: tasks known to be finished.
    """

    receipts: int = 0
    declined: int = 0
    retried: int = 0
    done: int = 0


def start_consumer(database: Path, log: Path) -> subprocess.Popen[bytes]:
    """Start ``huey_consumer tasks.huey`` on ``database`` (as ``python -m huey``)."""
    env = dict(os.environ, HUEY_DEMO_DB=str(database))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(HERE), env.get("PYTHONPATH"))))
    flags = (*CONSUMER_FLAGS, "-l", str(log))
    command = [sys.executable, "-m", "huey", "tasks.huey", *flags]
    print("consumer: huey_consumer tasks.huey", " ".join(flags))
    return subprocess.Popen(command, cwd=HERE, env=env)


def run(orders: int, database: Path, deadline_seconds: float) -> int:
    """Produce, follow and summarise; return the exit status."""
    os.environ["HUEY_DEMO_DB"] = str(database)
    sys.path.insert(0, str(HERE))
    # Imported here: the huey instance reads HUEY_DEMO_DB when the module loads.
    from tasks import (
        REMINDER_DELAY,
        Order,
        charge_card,
        huey,
        record_metric,
        reserve_stock,
        send_receipt,
        send_reminder,
        validate_address,
    )

    log = database.with_suffix(".log")
    consumer = start_consumer(database, log)
    started = time.perf_counter()
    try:
        # -- produce -------------------------------------------------------------
        total = orders * TASKS_PER_ORDER
        bar = ProgressBar("enqueue", total)
        singles: list[Result[object]] = []
        finals: list[Result[str]] = []
        charges: list[Result[object]] = []
        for number in range(orders):
            order = Order(
                id=number,
                email=f"customer{number}@example.com",
                items=1 + number % 5,
                unit_cents=1999,
            )
            singles.append(validate_address(order.id, "NL" if number % 3 else "BE"))
            pipeline = (
                reserve_stock.s(order)
                .then(charge_card, currency="EUR")
                .then(send_receipt, email=order.email)
            )
            reserved, charged, sent = huey.enqueue(pipeline)
            singles.append(reserved)
            charges.append(charged)
            finals.append(sent)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]  # the pipeline's last stage is send_receipt's str
            singles.append(send_reminder.with_options(delay=REMINDER_DELAY)(order.id, order.email))
            singles.append(record_metric("order.items", float(order.items)))
            bar.update((number + 1) * TASKS_PER_ORDER)
        bar.close()
        produced = time.perf_counter()

        # -- follow the consumer's progress through the result store ------------
        # A pipeline's last result implies its middle stage (the charge) is done; the
        # charge itself is read once at the end, since a failed attempt stores an error
        # that its retry later replaces.
        tally = Tally()
        waiting: list[Result[object]] = [*singles, *finals]
        bar = ProgressBar("processed", total)
        deadline = time.monotonic() + deadline_seconds
        while waiting and time.monotonic() < deadline:
            waiting = [handle for handle in waiting if not handle.is_ready()]
            unfinished_pipelines = sum(1 for handle in waiting if handle in finals)
            tally.done = total - len(waiting) - unfinished_pipelines
            bar.update(tally.done)
            if consumer.poll() is not None:
                break
            if waiting:
                time.sleep(0.1)
        bar.close()
        finished = time.perf_counter()
        for result in finals:
            try:
                result.get()
            except TaskException:
                tally.declined += 1
            else:
                tally.receipts += 1
        for charge in charges:
            try:
                receipt = charge.get()
            except TaskException:
                continue
            if getattr(receipt, "attempts", 1) > 1:
                tally.retried += 1
        sales_report = huey.get("sales-report", peek=True)
    finally:
        if consumer.poll() is None:
            consumer.send_signal(signal.SIGINT)  # graceful: running tasks finish first
        try:
            status = consumer.wait(timeout=60)
        except subprocess.TimeoutExpired:
            consumer.kill()
            status = consumer.wait()

    processed = tally.done
    log_lines = log.read_text().splitlines() if log.exists() else []
    errors = sum(1 for line in log_lines if " failed" in line)
    seconds = finished - produced
    print()
    print(f"orders            {orders:>7}")
    print(f"tasks enqueued    {total:>7}  ({total / (produced - started):,.0f}/s)")
    print(f"tasks processed   {processed:>7}  ({processed / max(seconds, 1e-9):,.0f}/s)")
    print(f"receipts sent     {tally.receipts:>7}")
    print(f"orders declined   {tally.declined:>7}  (failed for good after retries)")
    print(f"charges retried   {tally.retried:>7}  (gateway timeouts, then success)")
    print(f"sales report      {sales_report!r}  (periodic task)")
    print(f"consumer exit     {status:>7}  (graceful stop)")
    print(f"consumer log      {len(log_lines):>7} lines, {errors} task failures logged")
    print(f"wall time         {time.perf_counter() - started:>7.2f} s")
    if waiting or status != 0 or tally.receipts + tally.declined != orders:
        print(f"error: {len(waiting)} results missing, consumer status {status}")
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the demo; return the process exit status."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--orders", type=int, default=500, help="orders to place (6 tasks each)")
    parser.add_argument(
        "--deadline", type=float, default=180.0, help="seconds to wait for the consumer"
    )
    options = parser.parse_args(argv)
    orders: int = options.orders
    deadline: float = options.deadline
    print(f"huey demo: {orders} orders, {orders * TASKS_PER_ORDER} tasks, SQLite queue")
    with tempfile.TemporaryDirectory(prefix="huey-demo-") as scratch:
        return run(orders, Path(scratch) / "shop-demo.db", deadline)


if __name__ == "__main__":
    sys.exit(main())
