"""``python -m resolver`` is the ``resolver`` command."""
from .cli import main

main()
