"""``python -m nnfast.fuzz``: the same as ``nnfast-fuzz``."""
import sys

from nnfast.fuzz.cli import main

sys.exit(main())
