"""The orchestration layer: the jobs the scheduler and the commands run, one module each.

Only this package knows which stage follows which (collect → store → compose → render →
mail, and publish), and it isolates failures: one broken source or bulletin is reported in
the ``RunReport`` and the others carry on; one refused message marks its own row.

    run         run_once and housekeeping: short lists of the named steps below
    collect     poll the sources, store what came; import the members' CSV once
    editions    a digest's slot: compose, freeze, plan, deliver; resume unfinished sends
    prepare     render an edition once per variant, leaving out items that cannot be
    bulletins   the bulletins folder: render, write, send each due bulletin once
    archives    the archive pages of each digest and of the bulletins
    feeds       publish the theme feeds
    build       render without storing or sending (``digest build``, ``digest preview``)
    manual      what a coordinator starts by hand: send, approve, retry, a test copy
    bulletin_state  a bulletin's state (draft, held, rejected, scheduled, due, sent) and lint
    review      a coordinator's decisions on a bulletin: approve, reject, schedule
    edition_actions  approve, pause, resume, cancel an edition; retry its failed messages
    copies      [TEST] copies to a few addresses as a chosen variant, also of a bulletin
    status      what ``digest status`` shows, read from the store at once
    delivery    hand an edition's variants to the outbox and report how it went
    outbox      the outbox rows worked through: claimed, sent, recorded (policy: retries)
    forms       the rendered forms written to ``out/``, and sample messages
    context     what every entry point opens once; the stop signal
    isolation   one bad item or step never costs the others

This module imports nothing, so an entry point importing ``digest.jobs.context`` stays light.
"""
