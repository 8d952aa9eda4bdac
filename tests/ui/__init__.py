"""Shared set-up for the portal, console and browser tests."""
