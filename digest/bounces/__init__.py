"""Bounces and complaints: reading the reports that come back, and naming their delivery.

A stage: ``reports`` reads one delivery status notification (RFC 3464) or abuse report
(RFC 5965) within bounds, ``mailboxes`` fetches them from IMAP or a Maildir and marks each
read once the job stored it, ``verp`` signs and reads the per-message return path. What a
report does to a member is the job's (``digest.jobs.bounces``).
"""
