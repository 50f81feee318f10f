"""Turn structured strategy content into tailored HTML, PDF and Word briefings: the briefgen package."""

__version__ = "0.1.0"
