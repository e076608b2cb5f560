"""The implementation of the public API re-exported by ``troupe`` (see ``api/__init__.py``).

Internal: import from ``troupe``, not from here.
"""
