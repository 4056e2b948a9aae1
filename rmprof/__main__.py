"""Entry point for ``python -m rmprof``."""

from rmprof.cli import main

main()
