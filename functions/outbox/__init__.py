"""Transactional outbox relay: table stream -> alerts queue."""
