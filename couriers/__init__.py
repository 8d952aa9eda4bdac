"""Couriers: one interface (``base.Courier``), the embedded ``manual``
courier and the Shiprocket adapter; the courier orders booked through them
and the tracking-status table."""
