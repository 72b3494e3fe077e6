"""Domain services: uploads, blobs, manifests, tags, catalog, fsck. They own every
database transaction and every storage call; the HTTP layers only call them."""
