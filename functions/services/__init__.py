"""My services: list and detail with the manual and credentials."""
