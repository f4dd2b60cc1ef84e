"""Accounts: registration, my details, secondary contacts, staff-created clients."""
