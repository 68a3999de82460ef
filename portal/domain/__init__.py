"""The rules of replying, in plain Python: what a message and a link state are (``message``), the
requested items' catalogue (``catalogue``), the applicant's draft and its validation and the reply
built from it (``draft``, ``draft_files``, ``outgoing``), the steps through a reply (``steps``),
what staff see of a message's state (``staff_status``), errors and their codes (``errors``), texts
and formats (``i18n``, ``formatting``, ``glossary``) and the Berlin clock (``clock``).

No Reflex, no database, no settings, no case-service client: ``tests/portal/test_layering.py``
fails on any such import. Configuration comes in as arguments.
"""
