"""The SQL statements of the PostgreSQL storage, for one table prefix.

Kept apart from :mod:`huey.storage.postgres`, which runs them: here is what each
operation asks of the server, in one place. The table prefix is validated by
:func:`~huey.storage._postgres_schema.check_table_prefix` (only ``[a-z0-9_]``), so it is
safe to put in the text; every value is a bound parameter. Statements are ``str``; the
storage sends them encoded.
"""

from __future__ import annotations

from typing import Final

from ._postgres_schema import RECENT_SECONDS

__all__ = ("NOW", "Statements")

NOW: Final = "extract(epoch from clock_timestamp())::float8"
"""The server's wall clock, UTC epoch seconds, in SQL."""


class Statements:
    """The SQL of one table prefix (validated: only ``[a-z0-9_]``, safe to interpolate)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        task, kv = f"{prefix}_task", f"{prefix}_kv"
        schedule, dead = f"{prefix}_schedule", f"{prefix}_dead_letter"
        counter, semaphore = f"{prefix}_counter", f"{prefix}_semaphore"
        recent = f"{prefix}_recent"
        remembered = f"{NOW} + {RECENT_SECONDS!r}::float8"
        live = f"(expires IS NULL OR expires > {NOW})"
        ready = "queue = %(queue)s AND token IS NULL ORDER BY priority DESC, id LIMIT 1"
        # The uid is remembered in recent: a resend (its reply lost) stores nothing, even
        # once the first row was consumed (the uid index only holds while the row exists).
        self.enqueue = f"""
            WITH fresh AS (
                INSERT INTO {recent} (key, expires)
                VALUES ('e:' || %(uid)s::text, {remembered})
                ON CONFLICT (key) DO NOTHING RETURNING 1),
            added AS (
                INSERT INTO {task} (queue, data, priority, watch, uid)
                SELECT %(queue)s::text, %(data)s::bytea, %(priority)s::bigint,
                    %(watch)s::text[], %(uid)s::text FROM fresh
                ON CONFLICT (uid) DO NOTHING RETURNING 1)
            SELECT pg_notify(%(channel)s, '') FROM added"""
        self.insert_task = f"INSERT INTO {task} (queue, data, priority) VALUES (%s, %s, %s)"
        self.dequeue = f"""
            DELETE FROM {task} WHERE id = (
                SELECT id FROM {task} WHERE {ready} FOR UPDATE SKIP LOCKED)
            RETURNING data"""
        self.queue_size = f"SELECT count(*) FROM {task} WHERE queue = %s AND token IS NULL"
        self.enqueued_items = f"""
            SELECT data FROM {task} WHERE queue = %s AND token IS NULL
            ORDER BY priority DESC, id LIMIT %s"""
        self.leased_count = f"SELECT count(*) FROM {task} WHERE queue = %s AND token IS NOT NULL"
        self.lease_counts = f"""
            SELECT count(*) FILTER (WHERE deadline >= %(now)s),
                count(*) FILTER (WHERE deadline < %(now)s)
            FROM {task} WHERE queue = %(queue)s AND token IS NOT NULL"""
        # The watched keys' values, in the item's order (NULL for an empty key).
        self.reserve = f"""
            WITH picked AS (
                SELECT id FROM {task} WHERE {ready} FOR UPDATE SKIP LOCKED)
            UPDATE {task} AS t
            SET token = %(token)s, deadline = %(deadline)s, deliveries = t.deliveries + 1
            FROM picked WHERE t.id = picked.id
            RETURNING t.data, t.deliveries, t.watch, (
                SELECT array_agg(kv.value ORDER BY w.ord)
                FROM unnest(t.watch) WITH ORDINALITY AS w(key, ord)
                LEFT JOIN {kv} AS kv ON kv.queue = t.queue AND kv.key = w.key
                    AND (kv.expires IS NULL OR kv.expires > {NOW}))"""
        self.extend_lease = f"""
            UPDATE {task} SET deadline = %s WHERE queue = %s AND token = %s RETURNING 1"""
        # Nothing is stored or deleted unless the token is current (the ack). An applied
        # settle leaves its call's id in recent: its resend (reply lost) finds the token
        # gone but the id there, and reports the success; a new call is refused.
        self.settle = f"""
            WITH acked AS (
                DELETE FROM {task} WHERE queue = %(queue)s AND token = %(token)s RETURNING 1),
            noted AS (
                INSERT INTO {recent} (key, expires)
                SELECT 's:' || %(call)s::text, {remembered} FROM acked
                ON CONFLICT (key) DO NOTHING RETURNING 1),
            stored AS (
                INSERT INTO {kv} (queue, key, value, expires)
                SELECT %(queue)s::text, %(key)s::text, %(value)s::bytea, NULL FROM acked
                WHERE %(key)s::text IS NOT NULL
                ON CONFLICT (queue, key) DO UPDATE SET value = excluded.value, expires = NULL
                RETURNING key),
            dropped AS (
                DELETE FROM {kv} WHERE queue = %(queue)s AND key = ANY(%(discard)s::text[])
                AND EXISTS (SELECT 1 FROM acked) RETURNING 1),
            woken AS (
                SELECT pg_notify(%(channel)s, key) FROM stored
                WHERE %(channel)s::text IS NOT NULL)
            SELECT EXISTS (SELECT 1 FROM acked) OR EXISTS (
                    SELECT 1 FROM {recent}
                    WHERE key = 's:' || %(call)s::text AND expires > {NOW}),
                (SELECT count(*) FROM dropped),
                (SELECT count(*) FROM woken)"""
        self.release = f"""
            WITH back AS (
                UPDATE {task} SET token = NULL, deadline = NULL,
                    deliveries = greatest(deliveries - 1, 0)
                WHERE queue = %(queue)s AND token = %(token)s RETURNING 1)
            SELECT pg_notify(%(channel)s, '') FROM back"""
        self.dead_letter = f"""
            WITH gone AS (
                DELETE FROM {task} WHERE queue = %(queue)s AND token = %(token)s
                RETURNING queue, data, priority, deliveries)
            INSERT INTO {dead} (queue, data, priority, reason, deliveries, timestamp)
            SELECT queue, data, priority, %(reason)s, deliveries, %(now)s FROM gone
            RETURNING 1"""
        expired = "queue = %s AND token IS NOT NULL AND deadline < %s"
        # The consumers' periodic check also forgets the expired keys of recent, a batch
        # at a time (SKIP LOCKED: consumers pruning at once do not wait for each other).
        self.has_expired = f"""
            WITH pruned AS (
                DELETE FROM {recent} WHERE key IN (
                    SELECT key FROM {recent} WHERE expires < {NOW}
                    LIMIT 10000 FOR UPDATE SKIP LOCKED))
            SELECT 1 FROM {task} WHERE {expired} LIMIT 1"""
        self.lock_expired = f"""
            SELECT id, deliveries FROM {task} WHERE {expired} FOR UPDATE SKIP LOCKED"""
        self.unlease = f"UPDATE {task} SET token = NULL, deadline = NULL WHERE id = ANY(%s)"
        # executemany passes (reason, now, id): reorder the placeholders to match.
        self.bury = f"""
            WITH args AS (SELECT %s::text AS reason, %s::float8 AS now, %s::bigint AS id),
            gone AS (DELETE FROM {task} USING args WHERE {task}.id = args.id
                RETURNING queue, data, priority, deliveries)
            INSERT INTO {dead} (queue, data, priority, reason, deliveries, timestamp)
            SELECT queue, data, priority, args.reason, deliveries, args.now FROM gone, args"""
        self.dead_letters = f"""
            SELECT id, data, reason, deliveries, timestamp FROM {dead}
            WHERE queue = %s ORDER BY id LIMIT %s"""
        self.requeue_dead_letter = f"""
            WITH gone AS (
                DELETE FROM {dead} WHERE queue = %(queue)s AND id = %(id)s
                RETURNING queue, data, priority),
            added AS (
                INSERT INTO {task} (queue, data, priority)
                SELECT queue, data, priority FROM gone RETURNING 1)
            SELECT pg_notify(%(channel)s, '') FROM added"""
        self.delete_dead_letter = f"""
            DELETE FROM {dead} WHERE queue = %s AND id = %s RETURNING 1"""
        self.purge_dead_letters = f"""
            WITH gone AS (DELETE FROM {dead} WHERE queue = %s RETURNING 1)
            SELECT count(*) FROM gone"""
        self.schedule = f"""
            INSERT INTO {schedule} (queue, data, timestamp, priority)
            VALUES (%(queue)s, %(data)s, %(ts)s, %(priority)s)"""
        self.has_due = f"SELECT 1 FROM {schedule} WHERE queue = %s AND timestamp <= %s LIMIT 1"
        self.read_schedule = f"""
            DELETE FROM {schedule} WHERE queue = %s AND timestamp <= %s
            RETURNING timestamp, id, data, priority"""
        self.schedule_size = f"SELECT count(*) FROM {schedule} WHERE queue = %s"
        self.scheduled_items = f"""
            SELECT data FROM {schedule} WHERE queue = %s ORDER BY timestamp, id LIMIT %s"""
        upsert = "ON CONFLICT (queue, key) DO UPDATE SET value = excluded.value, expires = NULL"
        self.put_data = f"""
            INSERT INTO {kv} (queue, key, value, expires) VALUES (%s, %s, %s, NULL) {upsert}"""
        self.put_result = f"""
            WITH stored AS (
                INSERT INTO {kv} (queue, key, value, expires) VALUES (%s, %s, %s, NULL)
                {upsert} RETURNING 1)
            SELECT pg_notify(%s, %s) FROM stored"""
        self.peek_data = f"SELECT value FROM {kv} WHERE queue = %s AND key = %s AND {live}"
        self.has_key = f"SELECT 1 FROM {kv} WHERE queue = %s AND key = %s AND {live}"
        self.pop_data = f"""
            DELETE FROM {kv} WHERE queue = %s AND key = %s
            RETURNING value, (expires IS NULL OR expires > {NOW})"""
        self.put_if_empty = f"""
            INSERT INTO {kv} (queue, key, value, expires)
            VALUES (%s, %s, %s, {NOW} + %s::float8)
            ON CONFLICT (queue, key)
            DO UPDATE SET value = excluded.value, expires = excluded.expires
            WHERE {kv}.expires IS NOT NULL AND {kv}.expires <= {NOW}
            RETURNING 1"""
        self.delete_if_equal = f"""
            DELETE FROM {kv} WHERE queue = %s AND key = %s AND value = %s AND {live}
            RETURNING 1"""
        self.peek_many = f"""
            SELECT key, value FROM {kv} WHERE queue = %s AND key = ANY(%s::text[]) AND {live}"""
        self.kv_size = f"SELECT count(*) FROM {kv} WHERE queue = %s AND {live}"
        self.kv_items = f"SELECT key, value FROM {kv} WHERE queue = %s AND {live}"
        self.incr = f"""
            INSERT INTO {counter} (queue, key, value) VALUES (%s, %s, %s)
            ON CONFLICT (queue, key) DO UPDATE SET value = {counter}.value + excluded.value
            RETURNING value"""
        self.delete_counter = f"DELETE FROM {counter} WHERE queue = %s AND key = %s"
        self.semaphore_lock = (
            "SELECT pg_advisory_xact_lock(hashtextextended(%s::text || ':' || %s::text, 0))"
        )
        self.semaphore_expire = f"""
            DELETE FROM {semaphore} WHERE queue = %s AND name = %s AND deadline <= {NOW}"""
        self.semaphore_acquire = f"""
            WITH held AS (
                SELECT holder FROM {semaphore} WHERE queue = %(queue)s AND name = %(name)s),
            allowed AS (
                SELECT %(holder)s::text IN (SELECT holder FROM held)
                    OR (SELECT count(*) FROM held) < %(limit)s AS ok),
            taken AS (
                INSERT INTO {semaphore} (queue, name, holder, deadline)
                SELECT %(queue)s::text, %(name)s::text, %(holder)s::text,
                    {NOW} + %(timeout)s::float8
                FROM allowed WHERE ok
                ON CONFLICT (queue, name, holder) DO UPDATE SET deadline = excluded.deadline
                RETURNING 1)
            SELECT EXISTS (SELECT 1 FROM taken)"""
        self.semaphore_renew = f"""
            UPDATE {semaphore} SET deadline = {NOW} + %s
            WHERE queue = %s AND name = %s AND holder = %s AND deadline > {NOW} RETURNING 1"""
        self.semaphore_release = f"""
            DELETE FROM {semaphore} WHERE queue = %s AND name = %s AND holder = %s
            RETURNING deadline > {NOW}"""
        self.semaphore_holders = f"""
            SELECT holder FROM {semaphore} WHERE queue = %s AND name = %s
            AND deadline > {NOW} ORDER BY deadline, holder"""
        self.semaphore_clear = f"""
            WITH gone AS (DELETE FROM {semaphore} WHERE queue = %s AND name = %s
                RETURNING deadline)
            SELECT count(*) FILTER (WHERE deadline > {NOW}) FROM gone"""

    def flush(self, table: str) -> str:
        """Delete the rows of one queue from ``<prefix>_<table>``."""
        return f"DELETE FROM {self.prefix}_{table} WHERE queue = %s"
