"""The staff area's plain-Python side, without Reflex: accounts, sign-in grants and sessions
(``accounts``), what the list shows (``presenter``), the account command ``python -m portal.staff``
(``__main__``). The Reflex states are ``portal.state.staff_session``, ``.staff`` and
``.staff_preview``; the pages ``portal.pages.staff``, their pieces ``components.staff``."""
