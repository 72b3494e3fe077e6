"""Blob storage: one small async driver interface (``driver.py``) and its implementations."""
