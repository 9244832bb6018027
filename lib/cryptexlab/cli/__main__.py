"""``python -m cryptexlab.cli``: the ``cryptexlab`` command."""

import sys

from cryptexlab.cli import main

if __name__ == "__main__":  # imported (the doctest walk) it does nothing
    sys.exit(main())
