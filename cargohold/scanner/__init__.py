"""Vulnerability scanning: what is in an image (``indexer``), what is known to be
vulnerable (feeds), and the matching of the two."""
