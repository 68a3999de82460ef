"""Walking a PDF's objects: each indirect object is reached once, a direct one every time."""

from __future__ import annotations

import io

from pypdf import PdfReader
from pypdf.generic import DictionaryObject, NameObject

from portal.intake.pdf_walk import FirstVisits
from tests.fixtures.bombs import PdfBuilder, add_pages


def test_an_indirect_object_is_new_only_the_first_time() -> None:
    builder = PdfBuilder()
    reader = PdfReader(io.BytesIO(builder.write(add_pages(builder, [b"[]", b"[]"]))))
    refs = [page.indirect_reference for page in reader.pages]
    first, second, second_again = (ref.get_object() for ref in (*refs, refs[1]) if ref is not None)
    visits = FirstVisits()
    assert visits.first(first) and visits.first(second)
    assert not visits.first(first) and not visits.first(second_again)


def test_a_direct_object_is_always_new() -> None:
    direct = DictionaryObject({NameObject("/Type"): NameObject("/Annot")})
    visits = FirstVisits()
    assert visits.first(direct) and visits.first(direct)
