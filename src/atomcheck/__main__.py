"""``python -m atomcheck``: the ``atomcheck`` command (:mod:`atomcheck.cli`)."""

import sys

from atomcheck.cli import main

if __name__ == "__main__":  # importing the module (doctest collection, docs) runs nothing
    sys.exit(main())
