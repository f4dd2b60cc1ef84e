"""Support services: remote support booking (RustDesk)."""
