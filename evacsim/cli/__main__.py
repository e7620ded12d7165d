"""``python -m evacsim.cli``: the same as the ``evacsim`` command."""

import sys

from .main import main

sys.exit(main())
