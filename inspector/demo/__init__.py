"""The embedded demo: a simulated scanner feeding a local daemon (``inspector demo``)."""
