"""``python -m streams.cli``: the same as the ``leadstream`` console script."""

from streams.cli import main

main()
