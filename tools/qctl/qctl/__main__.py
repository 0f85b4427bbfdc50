"""python -m qctl: the CLI."""
from .cli import entry

entry()
