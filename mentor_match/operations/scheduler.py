"""RQ's cron scheduler, made to wait out a Redis outage as RQ's workers do instead of exiting.

Under `make serve` one process that exits stops them all, so a Redis restart must not end the
scheduler: it logs, waits and queues the jobs that fell due once Redis answers again.
"""

from __future__ import annotations

import time

from redis.exceptions import RedisError
from rq.cron import CronJob, CronScheduler

# How long to wait before trying Redis again after it failed to answer.
RETRY_SECONDS = 5.0


class PatientCronScheduler(CronScheduler):
    """A CronScheduler whose steps that talk to Redis log a failure and are tried again."""

    retry_seconds = RETRY_SECONDS

    def enqueue_jobs(self) -> list[CronJob]:
        try:
            return super().enqueue_jobs()
        except RedisError as error:
            # The jobs not queued stay due, and are queued on the next try.
            self.log.error(
                "CronScheduler %s: Redis did not answer (%s); trying again in %g s",
                self.name,
                error,
                self.retry_seconds,
            )
            time.sleep(self.retry_seconds)
            return []

    def heartbeat(self) -> None:
        try:
            super().heartbeat()
        except RedisError as error:
            self.log.error("CronScheduler %s: heartbeat not recorded (%s)", self.name, error)

    def save(self, pipeline=None) -> None:
        try:
            super().save(pipeline)
        except RedisError as error:
            self.log.error("CronScheduler %s: state not recorded (%s)", self.name, error)

    def register_death(self, pipeline=None) -> None:
        try:
            super().register_death(pipeline)
        except RedisError as error:
            # Its entry in Redis expires on its own.
            self.log.error("CronScheduler %s: stop not recorded (%s)", self.name, error)
