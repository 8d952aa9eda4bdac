"""Returns (RMAs) over any subset of an order's units: classification into the
soft-return types, routing, events that move units back, QC and disposition."""
