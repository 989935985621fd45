"""inspector package."""
