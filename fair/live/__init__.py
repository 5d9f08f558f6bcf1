"""Real-time boundary: broadcast backends, the socket protocol (PROTOCOL.md) and the endpoint.

Import order: broadcast, protocol, payloads, limits and account_watch, admitted (the admission
line's side of the sockets), hub (what the sockets of a process share), room_commands and
stage_commands (peers before room_commands and call_commands), socket; entry (the way in: the
socket's session and language, past the HTTP middleware).
"""
