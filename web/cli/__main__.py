"""``python -m web.cli``: the same as the ``clinic`` command."""

from web.cli import main

main()
