"""What protects the portal from floods and misuse, shared by every instance through the database:
rate-limit counters (``ratelimit``), which sessions hold a verified link and the per-message upload
quotas (``quotas``), and who a request comes from behind trusted proxies (``clients``). The HTTP
side (429 pages, the guard) is in ``portal.server``.
"""
