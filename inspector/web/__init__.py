"""Operators' review web page on the inspector's store (Starlette + Jinja, inline SVG)."""

from inspector.web.app import WebSettings, create_app

__all__ = ["WebSettings", "create_app"]
