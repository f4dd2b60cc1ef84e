"""Test harness.

- unit tests need nothing;
- integration tests call the real handlers against an embedded moto server (one per pytest worker)
  whose resources are created from template.yaml, reset before each test;
- end-to-end tests talk HTTP to a `python -m devstack` process started by a fixture.
"""

import os

# Before any shared/ import: fake credentials, and the table name the provisioner gives the template's table.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "TABLE_NAME": "paneldecliente-local-Table",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "POWERTOOLS_DEV": "false",
        # The template's (Globals): a worker module imported by a test before any Runtime set its environment
        # still flushes its metrics.
        "POWERTOOLS_METRICS_NAMESPACE": "Paneldecliente",
    }
)
