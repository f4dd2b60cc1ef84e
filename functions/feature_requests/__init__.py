"""Feature requests: clients propose and vote (one vote per account), staff decide and merge duplicates."""
