"""The scale-out set-up: nginx's configuration (``nginx.conf``, ``nginx.py``) and the launcher
that starts it on one machine (``cluster.py``); ``README.md`` is the operator's guide."""
