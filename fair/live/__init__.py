"""Real-time boundary: broadcast backends, the socket protocol (PROTOCOL.md) and the endpoint.

Import order: broadcast, protocol, socket.
"""
