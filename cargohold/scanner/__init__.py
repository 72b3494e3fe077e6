"""Vulnerability scanning: what is in an image (``indexer``), what is known to be
vulnerable (feeds), and the matching of the two.

Pure except ``updaters`` (which fetches feeds over HTTP into any ``AdvisorySink``): the
database side (advisory store, scan jobs, reports) lives in ``content`` (``advisories``,
``scans``, ``scan_reports``), the jobs run in ``workers``.

``image_matching`` turns a stored ``ImageIndex`` into lookup keys and stored findings;
``sbom`` writes a CycloneDX 1.5 document of an index.
"""
