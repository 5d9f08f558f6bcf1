"""fair: an open-source platform for virtual job fairs and forums.

Layers, each importing only from the layers above it (enforced by tests/test_layers.py):

1. leaves: settings, enums, errors, clock
2. storage: db, models
3. domain: one flat module per concept (channels, events, accounts, mail, files, editions,
   employers, offers, search, applications, candidates, notices, francetravail, rome, geo,
   permissions, chat, moderation, queues, conversations, presence, rooms, interviews, calendar,
   webconferences, videos, demo)
4. boundaries: web/, live/, media/, cli, worker, app
"""

__version__ = "0.1.0"
