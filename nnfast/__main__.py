"""``python -m nnfast``: the ``nnfast`` command line."""
import sys

from nnfast.cli.main import main

sys.exit(main())
