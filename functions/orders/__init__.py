"""Orders placed by staff: a service and its first invoice."""
