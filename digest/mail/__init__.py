"""Mail: messages built once per variant and personalised per member, and the transports
that hand them over (SMTP or files).

``message`` turns a ``RenderedEmail`` into RFC 5322 bytes for each recipient;
``transports`` delivers an ``Envelope`` and says, by the exception it raises, whether a
failure is worth retrying (``TemporaryFailure``) or final (``PermanentFailure``).
"""
