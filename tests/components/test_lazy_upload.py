"""The upload zone imports react-dropzone's hook from the lazy module, and the library stays installed."""

from __future__ import annotations

from pathlib import Path

from components.forms import upload_zone
from components.lazy_upload import LAZY_HOOK_LIBRARY, LazyUpload, Suspense
from portal.state.language import LanguageState
from portal.state.reply import ReplyState

ROOT = Path(__file__).resolve().parents[2]


def _zone() -> Suspense:
    zone = upload_zone(
        LanguageState.t, ReplyState.upload, ReplyState.upload_refused_by_browser, LanguageState.t["upload.add"]
    )
    assert isinstance(zone, Suspense)
    return zone


def test_the_zone_waits_under_its_own_suspense_boundary() -> None:
    zone = _zone()
    assert [type(child) for child in zone.children] == [LazyUpload]
    assert zone._get_all_imports()["react"][0].tag == "Suspense"


def test_the_hook_comes_from_the_lazy_module_and_the_library_is_only_installed() -> None:
    imports = _zone()._get_all_imports()
    assert "react-dropzone" not in imports
    assert [v.tag for v in imports[LAZY_HOOK_LIBRARY]] == ["useDropzone"]
    (pinned,) = [lib for lib in imports if lib.startswith("react-dropzone@")]
    assert [(v.render, v.install) for v in imports[pinned]] == [(False, True)]


def test_the_lazy_module_is_an_asset_of_the_app() -> None:
    module = ROOT / "assets" / LAZY_HOOK_LIBRARY.removeprefix("$/public/")
    assert 'import("react-dropzone")' in module.read_text()
