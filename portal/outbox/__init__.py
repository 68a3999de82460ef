"""The outbox: a reply committed here before the applicant is told "received" reaches the case
service. ``commit_checks`` refuses what could be refused later, ``store`` keeps entries (SQLite or
PostgreSQL), ``delivery`` sends them with their idempotency key until the case service confirms,
``task`` runs delivery and the ``retention`` purge with the backend, ``draft_marks`` notes started
drafts for the staff list. ``python -m portal.outbox`` lists, retries and resolves rejected replies.
"""
