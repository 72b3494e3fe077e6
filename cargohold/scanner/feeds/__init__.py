"""Pure parsers of advisory feeds: bytes in the feed's own format in, ``Advisory`` records out.

No network, no files, no database: an updater fetches the bytes and stores the records.

- ``debian.parse_debian_tracker``: the Debian security tracker's JSON
  (``/tracker/data/json``).
- ``alpine.parse_alpine_secdb``: one Alpine secdb document (``v3.19/main.json``).
- ``osv.parse_osv_record``, ``osv.parse_osv_documents``, ``osv.parse_osv_zip``: OSV records,
  one JSON document each, or a zip of them (``all.zip`` of an ecosystem).
"""
