"""Allow ``python -m digest`` as an alias of the ``digest`` console command."""

from digest.cli import main

raise SystemExit(main())
