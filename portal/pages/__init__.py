"""The pages, built from ``components`` with the states' vars and handlers; paths in ``portal.routes``."""
