"""onenet-tui: a terminal console for administering hosted business telephony users."""

__version__ = "0.1.0"
