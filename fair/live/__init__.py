"""Real-time boundary: broadcast backends (the socket protocol comes with the live fair)."""
