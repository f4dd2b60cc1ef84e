"""Invoices: my invoices and the overdue sweep."""
