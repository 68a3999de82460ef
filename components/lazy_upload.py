"""Reflex's upload zone, with its library loaded when a zone first shows.

Reflex imports react-dropzone's hook statically into the chunk of the page that has an upload
zone, so the request page's first load fetched the library (about 14 KiB compressed, most of it
file-selector's table of MIME types) although the zones only appear after "Reply now". This zone
is Reflex's own (same props, same events, same upload path) except that its hook comes from
``assets/lazy_dropzone.js``, which imports the library on first use; a Suspense boundary holds the
zone back until then.
"""

from __future__ import annotations

from typing import cast

import reflex as rx
from reflex_base.utils.imports import ImportVar, ParsedImportDict
from reflex_components_core.core.upload import Upload

# The app's assets/ folder is the build's public/ folder; "$" is the build's root.
LAZY_HOOK_LIBRARY = "$/public/lazy_dropzone.js"
_LIBRARY = "react-dropzone"


class LazyUpload(Upload):  # type: ignore[misc]  # Reflex's component packages are untyped
    """``rx.upload.root`` whose ``useDropzone`` is the lazy one."""

    @classmethod
    def create(cls, *children: object, **props: object) -> LazyUpload:
        # Reflex adds its /_upload endpoint only when ``Upload.is_used``; ``Upload.create`` sets the
        # flag on ``cls``, here this subclass, so a backend-only process (which builds no frontend
        # and leaves no marker file) would answer every upload 404.
        Upload.is_used = True
        return cast(LazyUpload, super().create(*children, **props))

    def _get_all_imports(self, collapse: bool = False) -> ParsedImportDict:
        imports: ParsedImportDict = dict(super()._get_all_imports(collapse=collapse))
        hook = imports.pop(_LIBRARY, [])
        if hook:
            imports[LAZY_HOOK_LIBRARY] = [*imports.get(LAZY_HOOK_LIBRARY, []), *hook]
        for name in [lib for lib in imports if lib.startswith(f"{_LIBRARY}@")]:
            # Still installed (the lazy module imports it), no longer imported by the page.
            imports[name] = [ImportVar(tag=None, render=False, install=True)]
        return imports


class Suspense(rx.Component):
    """React's Suspense: renders nothing of its children until what they wait for has arrived."""

    library = "react"
    tag = "Suspense"
