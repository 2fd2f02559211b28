"""unidir: a self-hostable unified user-directory API."""

__version__ = "0.1.0"
