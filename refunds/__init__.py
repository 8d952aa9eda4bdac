"""Refunds: exact amounts from the units' stored allocation, deferred until
their gates pass, issued through a payment-gateway interface, with a money
ledger per order and a credit note per refund."""
