"""The OCI Distribution API (``/v2``): thin handlers that parse, call content, render."""
