"""What intake knows about a file after inspection; shared by formats, images, pdfs and intake.

Kept in its own module so the per-format modules (``images``, ``pdfs``) can return it from their
steps without importing the registry that imports them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Inspection:
    media_type: str
    extension: str
    pages: int
    # Codes of what the pipeline changed that the applicant should be told (locale key
    # ``notice.<code>``), e.g. ``pdf_javascript_removed`` or ``image_converted_jpeg``.
    notes: tuple[str, ...] = ()
