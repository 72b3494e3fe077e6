"""Real container clients (skopeo, podman, buildah, oras, docker CLI) against a real cargohold."""
