"""The ``nnfast`` command line: ``nnfast train`` (and more subcommands)."""
