"""Payments: provider webhooks (Mercado Pago, Stripe) and exactly-once settlement of invoices."""
