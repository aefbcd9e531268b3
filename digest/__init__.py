"""Forum digest generator: sources → store → editions → emails, PDFs and feeds.

See docs/architecture.md for the shape of the package and the direction of imports.
"""

__version__ = "0.1.0"
