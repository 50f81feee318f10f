"""briefgen: turn structured strategy content into tailored HTML, PDF and Word briefings."""

__version__ = "0.1.0"
