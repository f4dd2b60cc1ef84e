"""Every hour: the old-server access of migrations ended MigrationSecretDays ago is destroyed (the sparse by_due
index, never a Scan; TTL on the access item is the backstop) — support.migrations.purge_due."""

from typing import Any

from aws_lambda_powertools import Logger
from support.migrations import purge_due

from shared.clock import SystemClock
from shared.dal.migrations import Migrations

logger = Logger()
migrations = Migrations()
clock = SystemClock()


@logger.inject_lambda_context
def lambda_handler(event: dict, context: Any) -> dict:
    done = purge_due(migrations, clock)
    logger.info("migration access purge", extra=done)
    return done
