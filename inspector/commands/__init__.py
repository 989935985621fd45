"""Sub-commands of the ``inspector`` CLI."""
