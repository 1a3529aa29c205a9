"""``nnfast`` entry point: one subparser per subcommand module.

A subcommand module has ``add_parser(subparsers)``, which adds its parser
and sets ``run=function(args, parser) -> exit code`` as its default.
"""
import sys

from nnfast.cli import bench, segment, train
from nnfast.cli.parser import ArgumentParser

SUBCOMMANDS = [train, segment, bench]


def build_parser():
    from nnfast import __version__

    parser = ArgumentParser(prog="nnfast", description="nnfast: fast, transparent CPU neural networks.")
    parser.add_argument("--version", action="version", version=f"nnfast {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    for module in SUBCOMMANDS:
        module.add_parser(subparsers)
    return parser


def main(argv=None):
    """Run ``nnfast`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(sys.argv[1:] if argv is None else list(argv))
        if args.command is None:
            parser.print_help()
            return 2
        if extra:
            # reported by the subcommand's parser, whose --help lists what it takes
            args.parser.error(f"unrecognized arguments: {' '.join(extra)}")
        return int(args.run(args, args.parser) or 0)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else 1
    except KeyboardInterrupt:
        sys.stderr.write("nnfast: interrupted\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
