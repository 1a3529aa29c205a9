"""The ``nnfast`` command line."""
