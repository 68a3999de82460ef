"""Staff area tooling. ``python -m portal.staff`` runs the account command (see ``__main__``)."""
