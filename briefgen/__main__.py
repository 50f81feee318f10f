"""Turn ``python -m briefgen`` into the briefgen command line."""

from .cli import run

run()
