"""Demo data for a fresh install: ``manage.py seed_demo``."""
