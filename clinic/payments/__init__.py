"""Payments: invoices, the cashier desk and shifts, refunds and the effects of "paid"."""
