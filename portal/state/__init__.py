"""Thin Reflex states: the applicant's session (``reply`` with ``uploads``), the language
(``language``), the staff session, list and preview (``staff_session``, ``staff``,
``staff_preview``), the session's binding to its browser (``binding``) and moving the focus
(``focus``). Rules live in ``portal.domain``; what a page shows is built by the presenters."""
