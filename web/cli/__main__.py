"""``python -m web.cli``: the same as the ``clinic`` command."""

from . import main

main()
