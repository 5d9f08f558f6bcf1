"""fair: an open-source platform for virtual job fairs and forums.

Layers, each importing only from the layers above it (ARCHITECTURE.md; enforced by
tests/test_layers.py):

1. leaves: settings, enums, errors, clock, i18n, parse, tokens, geo
2. infrastructure: db, models, migrations, events, channels, broadcast, unit_of_work,
   media_rooms, app_state, tally
3. domain: flat modules, one per concept (accounts, user_sessions, editions, employers, offers,
   search, applications, candidates, permissions, queues, conversations, presence, chat,
   moderation, notices, mail, activity, disclosure, ...), and the packages interviews/,
   webconferences/ and exports/
4. boundaries, none importing another: web/, live/, media/, worker, cli
5. assembly: app
"""

__version__ = "0.1.0"
