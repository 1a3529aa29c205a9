"""An ArgumentParser whose errors are one line, never a traceback."""
import argparse
import sys


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with every error (parsing or found later, through
    ``error``) printed as one line ``prog: error: message`` and exit code 2."""

    def error(self, message):
        message = " ".join(str(message).split())  # one line, whatever came
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    def exit(self, status=0, message=None):
        if message:
            sys.stderr.write(message)
        raise SystemExit(status)
