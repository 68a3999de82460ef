"""The sandbox's jobs: every parse, render and re-encode of an upload, and the receipt's layout,
as the child runs it.

The fork server (:mod:`portal.intake.sandbox`) imports this module once, calls :func:`preload`
and then runs ``JOBS[name](args)`` in a limited child per job; arguments and answers are JSON.
The callers' side, with its types and checks, is :mod:`portal.intake.confined`.

========================  =============================================================
job                       what the child does
========================  =============================================================
``inspect``               sniff the type (libmagic); the refusal code of a type not
                          allowed (an office zip is listed, not unpacked); the format's
                          check when it is one of ``CHECKS``; answers type and pages
``check_pdf``             :func:`portal.intake.pdfs.check_pdf` (structure, pages,
                          inflated content size)
``check_image``           :func:`portal.intake.images.check_image` (header, dimensions)
``normalise_image``       :func:`portal.intake.images.normalise_image` (re-encode)
``sanitise_pdf``          :func:`portal.intake.pdfs.sanitise_pdf` (remove active content)
``describe``              quality hints (images) and the thumbnail (PDF page 1 by PDFium)
``merge``                 :func:`portal.intake.merge.write_merged_pdf` (photos into a PDF)
``receipt``               :func:`portal.receipt_pdf.render` into a new file; answers pages
                          (the layout takes a few hundred milliseconds of CPU, which a
                          child spends without holding the portal's event loop)
========================  =============================================================
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import magic
from PIL import Image

from portal import receipt_pdf
from portal.domain.receipt import document_from_json
from portal.intake import formats, images, merge, pdfs, quality
from portal.intake import thumbnails as preview
from portal.intake.confined import inspection_from, limits_from, to_json
from portal.intake.files import open_private
from portal.intake.inspection import Inspection
from portal.intake.limits import Limits

__all__ = ["CHECKS", "JOBS", "preload"]

# Format checks by job name: (path, sniffed media type, limits) -> pages.
CHECKS: Mapping[str, Callable[[Path, str, Limits], int]] = {
    "check_pdf": lambda path, _media_type, limits: pdfs.check_pdf(path, limits),
    "check_image": lambda path, media_type, limits: images.check_image(media_type)(path, limits),
}


def _inspect(args: dict[str, Any]) -> dict[str, Any]:
    path, limits = Path(args["path"]), limits_from(args["limits"])
    media_type = formats.sniff(path)
    if media_type not in args["allowed"]:
        return {"media_type": media_type, "refusal": formats.refusal_code(media_type, path)}
    check = args["checks"].get(media_type)
    return {"media_type": media_type, "pages": CHECKS[check](path, media_type, limits) if check else None}


def _check(name: str) -> Callable[[dict[str, Any]], int]:
    def run(args: dict[str, Any]) -> int:
        return CHECKS[name](Path(args["path"]), args["media_type"], limits_from(args["limits"]))

    return run


def _step(step: Callable[[Path, Inspection, Limits], Inspection]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def run(args: dict[str, Any]) -> dict[str, Any]:
        return to_json(step(Path(args["path"]), inspection_from(args["found"]), limits_from(args["limits"])))

    return run


def _describe(args: dict[str, Any]) -> dict[str, Any]:
    path, media_type = Path(args["path"]), str(args["media_type"])
    hints = quality.quality_hints(path) if media_type.startswith("image/") else ()
    small = preview.thumbnail(path, media_type)
    return {"quality": list(hints), "thumbnail": base64.b64encode(small).decode() if small else None}


def _merge(args: dict[str, Any]) -> int:
    paths = [Path(p) for p in args["paths"]]
    return merge.write_merged_pdf(paths, Path(args["out"]), limits_from(args["limits"]))


def _receipt(args: dict[str, Any]) -> int:
    document = document_from_json(args["document"])
    rendered = receipt_pdf.render(document, Path(args["fonts_dir"]), datetime.fromisoformat(args["created"]))
    with open_private(Path(args["out"])) as out:
        out.write(rendered.pdf)
    return rendered.pages


JOBS: Mapping[str, Callable[[dict[str, Any]], Any]] = {
    "inspect": _inspect,
    "check_pdf": _check("check_pdf"),
    "check_image": _check("check_image"),
    "normalise_image": _step(images.normalise_image),
    "sanitise_pdf": _step(pdfs.sanitise_pdf),
    "describe": _describe,
    "merge": _merge,
    "receipt": _receipt,
}


def preload() -> None:
    """Load in the server what every child would otherwise load again (about a second in all)."""
    import pypdfium2  # noqa: F401  (PDFium: preview imports it on first use)

    Image.init()  # every Pillow plugin, registered once
    magic.from_buffer(b"%PDF-1.7\n", mime=True)  # libmagic's database, parsed once
