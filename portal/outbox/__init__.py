"""Outbox tooling for operators. ``python -m portal.outbox`` lists, retries and resolves rejected replies."""
