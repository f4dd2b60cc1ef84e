"""Public product catalog."""
