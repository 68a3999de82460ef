"""An upload's bytes, from the request body to a checked, normalised file on disk.

The facade is ``pipeline`` (``accept``, ``merge_uploads``, the count and size checks, the stored
upload and its names); ``limits`` holds the caps, ``files`` creates and deletes the private files,
``scanner`` talks to clamd. Everything that parses an upload (``formats``, ``images``, ``pdfs``,
``pdf_content``, ``merge``, ``thumbnails``, ``quality``) runs as a job in the sandbox's child
processes (``sandbox``, ``sandbox_server``, ``confined``, ``jobs``), never in the portal's own
process; ``task`` starts the sandbox with the backend.
"""
