"""npm: a real node_modules from npm install, and its lockfile."""

from __future__ import annotations

from pathlib import Path

from cargohold.scanner.indexer import PackageKind, index_image

from .layers import LayerBuilder, layer


async def test_installed_lodash_in_a_zstd_layer(npm_project: Path) -> None:
    app = LayerBuilder().tree(npm_project, "app")
    index = await index_image([layer(app, "zstd")])

    assert [(p.kind, p.name, p.version, p.path) for p in index.packages] == [
        (PackageKind.NPM, "lodash", "4.17.15", "app/node_modules/lodash/package.json")
    ]


async def test_lockfile_alone_names_what_would_be_installed(npm_project: Path) -> None:
    app = (
        LayerBuilder()
        .file("app/package.json", (npm_project / "package.json").read_bytes())
        .file("app/package-lock.json", (npm_project / "package-lock.json").read_bytes())
    )
    index = await index_image([layer(app)])

    assert [(p.name, p.version, p.path) for p in index.packages] == [
        ("lodash", "4.17.15", "app/package-lock.json")
    ]


async def test_nested_and_scoped_packages_but_not_files_inside_packages() -> None:
    def manifest(name: str, version: str) -> bytes:
        return f'{{"name": "{name}", "version": "{version}"}}'.encode()

    tree = (
        LayerBuilder()
        .file("srv/package.json", manifest("my-app", "1.0.0"))
        .file("srv/node_modules/@babel/core/package.json", manifest("@babel/core", "7.1.0"))
        .file("srv/node_modules/a/node_modules/b/package.json", manifest("b", "2.0.0"))
        .file("srv/node_modules/a/package.json", manifest("a", "1.0.0"))
        .file("srv/node_modules/a/lib/package.json", b'{"type": "module"}')
        .file("srv/node_modules/c/package.json", b"{not json")
    )
    index = await index_image([layer(tree)])

    assert sorted((p.name, p.version) for p in index.packages) == [
        ("@babel/core", "7.1.0"),
        ("a", "1.0.0"),
        ("b", "2.0.0"),
    ]
    assert index.warnings == ["srv/node_modules/c/package.json: not a JSON object"]
