"""ASGI layers in front of Reflex: the guard (uploads, link paths, rate limits), security and cache
headers, the operator's metrics endpoint, and the 429 answers."""
