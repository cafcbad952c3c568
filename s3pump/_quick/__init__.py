"""The one-object fast path: one GET, without an event loop (see :mod:`.get`)."""
