"""The web app members reach from their emails, and the archive and feeds.

``app`` builds the Starlette application (one-click unsubscribe, preferences, the published
editions, bulletins and feeds, read-only); ``server`` runs it under uvicorn for
``digest serve``, next to whatever background services the command starts. Coordinator
pages (preview, approve) come later and will need ``DIGEST_WEB_TOKEN`` off localhost.
"""
