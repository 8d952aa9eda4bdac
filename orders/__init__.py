"""Orders: customers, channels, orders with lines and one row per unit, tenders,
shipments, and the single append-only timeline every app writes to."""
