"""Background work: a queue in the metadata database (``queue``) and the runner that takes
jobs from it (``runner``), inside every ``cargohold serve`` process or in
``cargohold worker`` processes. Which jobs exist is decided by ``app.py``/``cli.py``,
which hand the runner one handler per job kind."""
